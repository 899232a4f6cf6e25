//! freshen.conf(5) and the package's commented `/etc/freshen/config.toml`,
//! both made from the one table of config keys (`settings::keys`), so a
//! key documented there is documented everywhere and a key missing there
//! fails the tests.

use crate::settings::keys::{keys_of, ConfigKey, SECTIONS};
use crate::settings::SYSTEM_CONFIG;

/// Text for roff: backquoted spans in bold, hyphens and backslashes
/// escaped, and no line that roff would take for a request.
pub fn roff(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        let escaped = part.replace('\\', "\\e").replace('-', "\\-");
        if i % 2 == 1 {
            out.push_str(&format!("\\fB{escaped}\\fR"));
        } else {
            out.push_str(&escaped);
        }
    }
    out.lines()
        .map(|l| if l.starts_with(['.', '\'']) { format!("\\&{l}") } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n")
}

/// How a section's header is written in TOML.
fn header(section: &str) -> String {
    match section {
        "" => String::new(),
        "notify" => "[[notify]]".into(),
        s => format!("[{s}]"),
    }
}

fn key_entry(k: &ConfigKey) -> String {
    format!(
        ".TP\n\\fB{}\\fR = \\fI{}\\fR\n{}\nDefault: {}.\n",
        roff(k.key),
        roff(k.kind),
        roff(k.description),
        roff(k.default)
    )
}

/// freshen.conf(5).
pub fn conf_page(version: &str) -> Vec<u8> {
    let mut page = format!(".TH FRESHEN.CONF 5 \"\" \"freshen {version}\" \"File Formats\"\n");
    page.push_str(".SH NAME\nfreshen.conf \\- freshen's configuration file\n");
    page.push_str(&format!(
        ".SH SYNOPSIS\n\\fI$XDG_CONFIG_HOME/freshen/config.toml\\fR (default \
         \\fI~/.config/freshen/config.toml\\fR), \\fI{}\\fR\n",
        roff(SYSTEM_CONFIG)
    ));
    page.push_str(&roff_paragraphs(
        &[
            "The config file is TOML. freshen reads the file named by `--config` (which must exist), else \
         the one named by `$FRESHEN_CONFIG`, else `$XDG_CONFIG_HOME/freshen/config.toml` (default \
         `~/.config/freshen/config.toml`) when it exists, else the system-wide \
         `/etc/freshen/config.toml` when it exists (the Debian package installs a commented one, which \
         the packaged `freshen.service`, run without `HOME`, reads). Only one file is read; none at all \
         is fine.",
            "Every key is optional. An unknown key, a value of the wrong type or a value out of range is an \
         error that names the file, the line and the key (`config file /etc/freshen/config.toml: line \
         7, key 'notify.url': must be an http:// or https:// URL (in [[notify]] number 2)`), and the \
         command exits 1. Flags beat the config file.",
            "Durations are a number and a unit: `30s`, `12h`, `3d`, `1d12h`. Image patterns are as on the \
         command line: `nginx` (Docker Hub's library/nginx), `nginx:*`, `ghcr.io/org/*`.",
        ],
        "DESCRIPTION",
    ));
    for (section, about) in SECTIONS {
        let title = match *section {
            "" => "TOP-LEVEL KEYS".to_string(),
            s => format!("SECTION {}", header(s)),
        };
        page.push_str(&format!(".SH \"{}\"\n{}\n", title.replace('"', "\\(dq"), roff(about)));
        for k in keys_of(section) {
            page.push_str(&key_entry(k));
        }
    }
    page.push_str(".SH EXAMPLE\n.nf\n");
    page.push_str(&roff_literal(&example_config()));
    page.push_str(".fi\n");
    page.push_str(&format!(
        ".SH FILES\n.TP\n\\fI{}\\fR\nThe system\\-wide config file, a conffile of the Debian package: \
         an upgrade keeps the local changes, a purge removes it.\n.TP\n\
         \\fI~/.config/freshen/config.toml\\fR\nA user's config file, which wins over the system\\-wide one.\n",
        roff(SYSTEM_CONFIG)
    ));
    page.push_str(
        ".SH \"SEE ALSO\"\n\\fBfreshen\\fR(1), \\fBfreshen\\-update\\fR(1), \\fBfreshen\\-upgrade\\fR(1), \
                   \\fBfreshen\\-schedule\\fR(1)\n",
    );
    page.into_bytes()
}

fn roff_paragraphs(paragraphs: &[&str], title: &str) -> String {
    let mut out = format!(".SH {title}\n");
    for (i, p) in paragraphs.iter().enumerate() {
        if i > 0 {
            out.push_str(".PP\n");
        }
        out.push_str(&roff(p));
        out.push('\n');
    }
    out
}

/// Lines shown as they are (in `.nf`): only backslashes and leading dots
/// need care.
fn roff_literal(text: &str) -> String {
    text.lines()
        .map(|l| {
            let l = l.replace('\\', "\\e").replace('-', "\\-");
            if l.starts_with(['.', '\'']) {
                format!("\\&{l}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

/// A config file that sets every key to its example value.
fn example_config() -> String {
    let mut out = String::new();
    for (section, _) in SECTIONS {
        if !section.is_empty() {
            out.push_str(&format!("\n{}\n", header(&section.replace("PATTERN", "postgres"))));
        }
        for k in keys_of(section) {
            if *section == "notify" && k.key == "command" {
                continue;
            }
            out.push_str(&format!("{} = {}\n", k.key, k.example));
        }
    }
    out
}

/// Wraps `text` at about 76 columns into `# ` comment lines.
fn comment(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::from("#");
    for word in text.replace('`', "").split_whitespace() {
        if line.len() + 1 + word.len() > 78 && line.len() > 1 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// The commented default `/etc/freshen/config.toml` the package installs:
/// every key, commented out, with its default and an example value.
pub fn default_config() -> String {
    let mut out = comment(
        "freshen's system-wide configuration, read when the user running freshen has no \
         ~/.config/freshen/config.toml (and by the packaged freshen.service). Every key is optional and \
         commented out: the line above each says what it does and its default; uncomment and edit to \
         change it. The reference is freshen.conf(5) ('man freshen.conf').",
    );
    for (section, about) in SECTIONS {
        out.push('\n');
        if !section.is_empty() {
            out.push_str(&comment(about));
            out.push_str(&format!("#{}\n", header(&section.replace("PATTERN", "postgres"))));
        }
        for k in keys_of(section) {
            out.push_str(&comment(&format!("{} Default: {}.", k.description, k.default)));
            out.push_str(&format!("#{} = {}\n", k.key, k.example));
        }
    }
    out
}
