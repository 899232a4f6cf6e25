//! Certificates for the tests, made with the `openssl` CLI: a private CA,
//! server and client certificates it signs, and a self-signed key pair for
//! the token server's signatures.

use std::path::{Path, PathBuf};
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl (install it; .ci/run does): {e}"));
    assert!(
        out.status.success(),
        "openssl {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

const EC: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

/// A certificate authority in `dir/NAME.crt` and `dir/NAME.key`.
pub struct Ca {
    dir: PathBuf,
    name: String,
}

/// A certificate and its key, as PEM files.
pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Ca {
    pub fn new(dir: &Path, name: &str) -> Ca {
        std::fs::create_dir_all(dir).unwrap();
        let mut args = vec!["req", "-x509", "-nodes", "-days", "2", "-subj"];
        let subject = format!("/CN=freshen test CA {name}");
        let (key, cert) = (format!("{name}.key"), format!("{name}.crt"));
        args.push(&subject);
        args.extend(EC);
        args.extend(["-keyout", &key, "-out", &cert]);
        args.extend([
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir, &args);
        Ca { dir: dir.to_path_buf(), name: name.to_string() }
    }

    pub fn cert(&self) -> PathBuf {
        self.dir.join(format!("{}.crt", self.name))
    }

    /// A certificate for `127.0.0.1` and `localhost`, for a server
    /// (`serverAuth`) or a client (`clientAuth`).
    pub fn issue(&self, name: &str, usage: &str) -> Issued {
        let (key, csr, cert, ext) =
            (format!("{name}.key"), format!("{name}.csr"), format!("{name}.crt"), format!("{name}.ext"));
        std::fs::write(
            self.dir.join(&ext),
            format!(
                "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage={usage}\nbasicConstraints=CA:FALSE\n\
                 keyUsage=critical,digitalSignature\n"
            ),
        )
        .unwrap();
        let subject = format!("/CN={name}");
        let mut args = vec!["req", "-nodes", "-subj", &subject];
        args.extend(EC);
        args.extend(["-keyout", &key, "-out", &csr]);
        openssl(&self.dir, &args);
        let (ca_cert, ca_key) = (format!("{}.crt", self.name), format!("{}.key", self.name));
        openssl(
            &self.dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca_cert,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &ext,
                "-out",
                &cert,
            ],
        );
        Issued { cert: self.dir.join(cert), key: self.dir.join(key) }
    }
}

/// A self-signed P-256 key pair: the certificate (PEM and DER) for the
/// registry's `rootcertbundle` and the JWT `x5c` header, and the PKCS#8
/// DER key for signing.
pub struct Signer {
    pub cert_pem: PathBuf,
    pub cert_der: Vec<u8>,
    pub key_pkcs8: Vec<u8>,
}

pub fn signer(dir: &Path) -> Signer {
    std::fs::create_dir_all(dir).unwrap();
    let mut args = vec!["req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=freshen test token signer"];
    args.extend(EC);
    args.extend(["-keyout", "signer.key", "-out", "signer.crt"]);
    openssl(dir, &args);
    openssl(dir, &["x509", "-in", "signer.crt", "-outform", "DER", "-out", "signer.der"]);
    openssl(
        dir,
        &["pkcs8", "-topk8", "-nocrypt", "-in", "signer.key", "-outform", "DER", "-out", "signer.p8"],
    );
    Signer {
        cert_pem: dir.join("signer.crt"),
        cert_der: std::fs::read(dir.join("signer.der")).unwrap(),
        key_pkcs8: std::fs::read(dir.join("signer.p8")).unwrap(),
    }
}
