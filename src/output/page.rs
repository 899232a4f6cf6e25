//! The status page `freshen serve` shows at `/`: one HTML document written
//! here with every string escaped, no templating engine and no external
//! asset (the host may have no internet). It reads without JavaScript (the
//! "updates only" filter is then a link the server answers); a small inline
//! script makes the filter instant and, when actions are on, adds the
//! buttons, each asking for confirmation and for the apply token, which it
//! keeps in memory only and sends as `Authorization: Bearer`.

use std::fmt::Write as _;

use crate::core::reference::short_digest;
use crate::core::status::{Counts, TagView};
use crate::core::verdict::Status;

/// What the page shows.
pub struct Page<'a> {
    pub host: &'a str,
    pub updated_at: Option<&'a str>,
    pub failed: usize,
    pub views: &'a [TagView<'a>],
    pub counts: &'a Counts,
    pub actions: bool,
    /// Only offered updates (`?updates=only`, for browsers without script).
    pub updates_only: bool,
}

/// `&`, `<`, `>`, `"` and `'` as entities: safe in text and in quoted
/// attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Only http(s) links are made clickable; anything else shows as text.
fn link(url: &str, text: &str) -> String {
    if url.starts_with("https://") || url.starts_with("http://") {
        format!("<a href=\"{}\" rel=\"noreferrer noopener\">{}</a>", escape(url), escape(text))
    } else {
        escape(text)
    }
}

const STYLE: &str = "\
:root{color-scheme:light dark;--b:#8884;--up:#b7791f;--ok:#2f855a;--bad:#c53030}
body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem}
h1{font-size:1.3rem;margin:0 0 .3rem}
.sum{margin:.2rem 0 1rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--b);vertical-align:top;overflow-wrap:anywhere}
td code{white-space:nowrap}
.st{font-weight:600;white-space:nowrap}
.upgradable{color:var(--up)}.up-to-date{color:var(--ok)}.unknown{color:var(--bad)}
.note,.muted{opacity:.75;font-size:.9em}
code{font-size:.9em;word-break:break-all}
button{margin:.1rem .2rem .1rem 0;padding:.25rem .6rem}
.only-updates tr.tag:not([data-update]){display:none}
#msg{min-height:1.4em;font-weight:600}
@media (max-width:40rem){thead{display:none}tr.tag{display:block;border-bottom:2px solid var(--b);padding:.4rem 0}
td{display:block;border:0;padding:.15rem 0}td[data-label]::before{content:attr(data-label) \": \";opacity:.7}}
";

const SCRIPT: &str = r#"
(function(){
var box=document.getElementById('only'),go=document.getElementById('only-go');
if(go)go.style.display='none';
function apply(){document.body.classList.toggle('only-updates',box.checked);
var n=document.querySelectorAll('tr.tag').length,u=document.querySelectorAll('tr.tag[data-update]').length;
document.getElementById('shown').textContent=box.checked?(u+' of '+n+' tags shown'):(n+' tags shown');}
if(box){box.addEventListener('change',apply);apply();}
var token=null,msg=document.getElementById('msg');
function act(b){var ref=b.dataset.ref,what=b.dataset.action,body={reference:ref};
if(what==='upgrades')body.expected_digest=b.dataset.digest;
var label=b.textContent+' '+b.dataset.name+(b.dataset.version?' to '+b.dataset.version:'')+'?';
if(!window.confirm(label))return;
if(!token)token=window.prompt('Apply token for this server');
if(!token)return;
msg.textContent='Sending…';
fetch('api/v1/'+what,{method:'POST',headers:{'Authorization':'Bearer '+token,'Content-Type':'application/json'},body:JSON.stringify(body)})
.then(function(r){return r.json().then(function(j){return [r.status,j];});})
.then(function(x){if(x[0]===401)token=null;msg.textContent=x[0]+': '+(x[1].message||x[1].error||'done');})
.catch(function(e){msg.textContent='failed: '+e;});}
document.querySelectorAll('button[data-action]').forEach(function(b){b.hidden=false;b.addEventListener('click',function(){act(b);});});
})();
"#;

pub fn render(p: &Page) -> String {
    let c = p.counts;
    let mut h = String::with_capacity(1024 + p.views.len() * 600);
    let title = format!("freshen on {}", p.host);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1>",
        t = escape(&title)
    );
    let checked = match p.updated_at {
        Some(at) if p.failed == 0 => format!("Last checked {}.", escape(at)),
        Some(at) => format!(
            "Last checked {}; {} could not be checked.",
            escape(at),
            crate::output::count(p.failed, "tag", "tags")
        ),
        None => "Not checked yet: the first update has not run.".to_string(),
    };
    let _ = write!(
        h,
        "<p class=\"sum\">{checked} <strong>{}</strong> of {}. {} up to date, {} held, {} skipped, {} waiting, {} unknown.</p>",
        crate::output::count(c.updates, "update", "updates"),
        crate::output::count(c.tags, "tag", "tags"),
        c.up_to_date,
        c.held,
        c.skipped,
        c.waiting,
        c.unknown
    );
    let _ = write!(
        h,
        "<form method=\"get\" action=\"\"><label><input type=\"checkbox\" id=\"only\" name=\"updates\" value=\"only\"{}> \
         Updates only</label> <button id=\"only-go\" type=\"submit\">Show</button> <span id=\"shown\" class=\"muted\"></span></form>\
         <p id=\"msg\" role=\"status\"></p>",
        if p.updates_only { " checked" } else { "" }
    );
    h.push_str(
        "<table><thead><tr><th>Image</th><th>Status</th><th>Installed</th><th>Available</th>\
         <th>Containers</th><th>Notes</th></tr></thead><tbody>",
    );
    for v in p.views.iter().filter(|v| !p.updates_only || v.offered()) {
        row(&mut h, v, p.actions);
    }
    h.push_str("</tbody></table>");
    if p.views.is_empty() {
        h.push_str("<p>No images on this host.</p>");
    }
    let _ = write!(
        h,
        "<p class=\"muted\">JSON: <a href=\"api/v1/status\">api/v1/status</a> · <a href=\"metrics\">metrics</a></p>\
         <script>{SCRIPT}</script></body></html>"
    );
    h
}

fn row(h: &mut String, v: &TagView, actions: bool) {
    let r = v.row;
    let name = r.reference.familiar();
    let offered = v.offered();
    let status = if r.held {
        format!("{} (held)", r.status.as_str())
    } else if r.rolled_back().is_some() {
        format!("{} (failed, rolled back)", r.status.as_str())
    } else if r.skipped.is_some() && r.status == Status::Upgradable {
        "skipped".to_string()
    } else if r.cooldown.is_some() {
        format!("{} (waiting)", r.status.as_str())
    } else {
        r.status.as_str().to_string()
    };
    let digest =
        |d: &Option<String>| d.as_deref().map(|d| format!("<code>{}</code>", escape(short_digest(d))));
    let installed = match (&r.version.current, digest(&r.local_digest)) {
        (Some(v), Some(d)) => format!("{} {d}", escape(v)),
        (Some(v), None) => escape(v),
        (None, Some(d)) => d,
        (None, None) => format!("<code>{}</code>", escape(short_digest(&r.image_id))),
    };
    let available = if r.status == Status::Upgradable {
        let mut a = match (r.candidate_version(), digest(&r.remote_digest)) {
            (Some(v), Some(d)) => format!("{} {d}", escape(v)),
            (Some(v), None) => escape(v),
            (None, Some(d)) => d,
            (None, None) => "-".into(),
        };
        if let Some(url) = &r.version.release_notes {
            a.push_str(&format!(" ({})", link(url, "release notes")));
        }
        a
    } else {
        "-".to_string()
    };
    let newer: Vec<String> = r
        .version
        .by_level
        .iter()
        .map(|(c, ok)| {
            format!("{} ({}{})", escape(&c.tag), c.level.as_str(), if *ok { "" } else { ", beyond policy" })
        })
        .collect();
    let containers: Vec<String> = v
        .containers
        .iter()
        .map(|c| {
            let compose = match (&c.project, &c.service) {
                (Some(p), Some(s)) => {
                    format!(" <span class=\"muted\">({} / {})</span>", escape(p), escape(s))
                }
                _ => String::new(),
            };
            format!("{}{}{compose}", escape(&c.name), if c.running { "" } else { " (stopped)" })
        })
        .collect();
    let mut notes = Vec::new();
    if !newer.is_empty() {
        notes.push(format!("Newer tags: {}", newer.join(", ")));
    }
    if let Some(s) = &r.skipped {
        notes.push(format!("Skipped: {}", escape(&s.reason)));
    }
    if let Some(c) = &r.cooldown {
        if let Some(at) = crate::core::time::format_rfc3339(c.available_at) {
            notes.push(format!("Offered from {}", escape(&at)));
        }
    }
    if let Some(l) = &v.last_upgrade {
        let detail = l.detail.as_deref().map(|d| format!(": {}", escape(d))).unwrap_or_default();
        notes.push(format!("Last upgrade {} {}{detail}", l.outcome.as_str(), escape(&l.at)));
    }
    if let Some(e) = &r.error {
        notes.push(format!("Error: {}", escape(e)));
    }
    let _ = write!(
        h,
        "<tr class=\"tag\"{}><td data-label=\"Image\"><strong>{}</strong></td><td data-label=\"Status\" class=\"st {}\">{}</td>\
         <td data-label=\"Installed\">{installed}</td><td data-label=\"Available\">{available}</td>\
         <td data-label=\"Containers\">{}</td><td data-label=\"Notes\" class=\"note\">{}",
        if offered { " data-update" } else { "" },
        escape(&name),
        r.status.as_str(),
        escape(&status),
        if containers.is_empty() { "-".to_string() } else { containers.join("<br>") },
        notes.join("<br>")
    );
    if actions && r.reference.tag.is_some() && r.reference.digest.is_none() {
        let reference = escape(&r.reference.to_string());
        let en = escape(&name);
        if offered {
            if let Some(d) = &r.remote_digest {
                let version = r.candidate_version().map(escape).unwrap_or_else(|| escape(short_digest(d)));
                let _ = write!(
                    h,
                    "<div><button hidden data-action=\"upgrades\" data-ref=\"{reference}\" data-name=\"{en}\" \
                     data-digest=\"{}\" data-version=\"{version}\">Upgrade</button>\
                     <button hidden data-action=\"skips\" data-ref=\"{reference}\" data-name=\"{en}\">Skip</button></div>",
                    escape(d)
                );
            }
        }
        let (action, label) = if r.held { ("unholds", "Unhold") } else { ("holds", "Hold") };
        let _ = write!(
            h,
            "<div><button hidden data-action=\"{action}\" data-ref=\"{reference}\" data-name=\"{en}\">{label}</button></div>"
        );
    }
    h.push_str("</td></tr>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_strings_is_shown_not_run() {
        assert_eq!(
            escape("<script>\"a\"&'b'</script>"),
            "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;&lt;/script&gt;"
        );
        assert_eq!(link("javascript:alert(1)", "x"), "x");
        assert!(link("https://e.org/?a=<b>", "notes").contains("https://e.org/?a=&lt;b&gt;"));
    }
}
