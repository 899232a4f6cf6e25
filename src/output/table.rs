//! Column layout for `freshen list`, like `docker images`: widths are the
//! visible widths of the text (colour is added after padding, so escape
//! codes never count), and when the rows do not fit the terminal the least
//! useful columns are dropped first, then the widest shrinkable cells are
//! shortened with `…`. Pure: the caller says how wide the terminal is.

/// One column: its heading, and how it gives way when space runs out.
#[derive(Debug, Clone)]
pub struct Column {
    pub heading: &'static str,
    /// Columns with a drop rank go, lowest rank first, before anything is
    /// shortened; None: always shown.
    pub drop_rank: Option<u8>,
    /// How a cell may be shortened, and its narrowest width.
    pub shrink: Shrink,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shrink {
    /// Never shortened.
    Never,
    /// Cut in the middle (`127.0.0.1:5000/te…/app:1`), keeping both ends.
    Middle(usize),
    /// Cut at the end (`cannot reach …`).
    End(usize),
}

/// One cell: its text and an optional SGR colour code for its first word
/// (`"32"`), applied after padding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    pub text: String,
    pub color: Option<&'static str>,
}

impl Cell {
    pub fn plain(text: impl Into<String>) -> Cell {
        Cell { text: text.into(), color: None }
    }

    pub fn colored(text: impl Into<String>, code: &'static str) -> Cell {
        Cell { text: text.into(), color: Some(code) }
    }
}

/// Two spaces between columns, as `docker images` has.
const GAP: usize = 2;

/// The visible width of `text`: one per character (freshen prints no wide
/// characters but `…` and `→`, each one column).
pub fn width(text: &str) -> usize {
    text.chars().count()
}

/// Shortens `text` to `max` columns.
pub fn shorten(text: &str, max: usize, how: Shrink) -> String {
    let n = width(text);
    if n <= max || max == 0 {
        return text.to_string();
    }
    if max == 1 {
        return "…".to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    match how {
        Shrink::Never => text.to_string(),
        Shrink::End(_) => chars[..max - 1].iter().collect::<String>() + "…",
        Shrink::Middle(_) => {
            // Keep more of the end: the tag is what tells rows apart.
            let keep = max - 1;
            let head = keep / 3;
            let tail = keep - head;
            chars[..head].iter().collect::<String>() + "…" + &chars[n - tail..].iter().collect::<String>()
        }
    }
}

/// Lays the table out within `max_width` columns (None: as wide as it
/// takes) and returns its lines, heading first. `paint(text, code)` adds
/// colour to a cell's text.
pub fn render(
    columns: &[Column],
    rows: &[Vec<Cell>],
    max_width: Option<usize>,
    paint: impl Fn(&str, &str) -> String,
) -> Vec<String> {
    let natural: Vec<usize> = (0..columns.len())
        .map(|i| rows.iter().map(|r| width(&r[i].text)).chain([width(columns[i].heading)]).max().unwrap_or(0))
        .collect();
    let mut shown: Vec<usize> = (0..columns.len()).collect();
    let mut widths = natural.clone();
    let total = |shown: &[usize], widths: &[usize]| -> usize {
        shown.iter().map(|&i| widths[i]).sum::<usize>() + GAP * shown.len().saturating_sub(1)
    };
    if let Some(max) = max_width {
        // Drop the least useful columns first.
        let mut droppable: Vec<(u8, usize)> =
            columns.iter().enumerate().filter_map(|(i, c)| c.drop_rank.map(|r| (r, i))).collect();
        droppable.sort();
        for (_, i) in droppable {
            if total(&shown, &widths) <= max {
                break;
            }
            shown.retain(|&s| s != i);
        }
        // Then shorten the widest shrinkable column, down to the next
        // widest, until it fits: long cells give way evenly.
        let floor = |i: usize| match columns[i].shrink {
            Shrink::Middle(min) | Shrink::End(min) => min.max(width(columns[i].heading)),
            Shrink::Never => usize::MAX,
        };
        while total(&shown, &widths) > max {
            let over = total(&shown, &widths) - max;
            let mut shrinkable: Vec<usize> =
                shown.iter().copied().filter(|&i| widths[i] > floor(i)).collect();
            shrinkable.sort_by_key(|&i| std::cmp::Reverse(widths[i]));
            let Some(&i) = shrinkable.first() else { break };
            let next = shrinkable.get(1).map_or(0, |&j| widths[j]);
            let step = (widths[i] - next.max(floor(i))).clamp(1, over);
            widths[i] -= step;
        }
    }
    let mut lines = Vec::with_capacity(rows.len() + 1);
    let heading: Vec<Cell> = columns.iter().map(|c| Cell::plain(c.heading)).collect();
    for row in std::iter::once(&heading).chain(rows.iter()) {
        let mut line = String::new();
        for (n, &i) in shown.iter().enumerate() {
            let cell = &row[i];
            let text = shorten(&cell.text, widths[i], columns[i].shrink);
            let pad = widths[i].saturating_sub(width(&text));
            match cell.color {
                Some(code) => {
                    // Colour the first word only (`upgradable` of
                    // `upgradable (held)`), after measuring.
                    let (word, rest) = text.split_at(text.find(' ').unwrap_or(text.len()));
                    line.push_str(&paint(word, code));
                    line.push_str(rest);
                }
                None => line.push_str(&text),
            }
            if n + 1 < shown.len() {
                line.push_str(&" ".repeat(pad + GAP));
            }
        }
        lines.push(line.trim_end().to_string());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(line: &str) -> String {
        let mut out = String::new();
        let mut esc = false;
        for c in line.chars() {
            match (esc, c) {
                (false, '\u{1b}') => esc = true,
                (true, 'm') => esc = false,
                (true, _) => {}
                (false, c) => out.push(c),
            }
        }
        out
    }

    fn columns() -> Vec<Column> {
        vec![
            Column { heading: "IMAGE", drop_rank: None, shrink: Shrink::Middle(12) },
            Column { heading: "STATUS", drop_rank: None, shrink: Shrink::Never },
            Column { heading: "CREATED", drop_rank: Some(1), shrink: Shrink::Never },
            Column { heading: "NOTE", drop_rank: None, shrink: Shrink::End(10) },
        ]
    }

    fn rows() -> Vec<Vec<Cell>> {
        vec![
            vec![
                Cell::plain("registry.example.org/team/a-long-application-name:1.2.3"),
                Cell::colored("upgradable (held)", "33"),
                Cell::plain("3 weeks ago"),
                Cell::plain(""),
            ],
            vec![
                Cell::plain("nginx:latest"),
                Cell::colored("unknown", "31"),
                Cell::plain("2 days ago"),
                Cell::plain("cannot reach registry.example.org: connection refused"),
            ],
        ]
    }

    fn paint(text: &str, code: &str) -> String {
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    #[test]
    fn colour_takes_no_width() {
        let lines = render(&columns(), &rows(), None, paint);
        let plain = render(&columns(), &rows(), None, |t, _| t.to_string());
        assert_eq!(lines.iter().map(|l| strip(l)).collect::<Vec<_>>(), plain);
        let at = plain[0].find("STATUS").unwrap();
        assert_eq!(&plain[1][at..at + 10], "upgradable");
        assert_eq!(&plain[2][at..at + 7], "unknown");
    }

    #[test]
    fn fits_by_dropping_then_shortening() {
        for max in [100, 80, 60, 50] {
            let lines = render(&columns(), &rows(), Some(max), paint);
            for l in &lines {
                assert!(width(&strip(l)) <= max, "{max}: {l:?}");
            }
            let plain: Vec<String> = lines.iter().map(|l| strip(l)).collect();
            let at = plain[0].find("STATUS").unwrap();
            let status: String = plain[1].chars().skip(at).collect();
            assert!(status.starts_with("upgradable (held)"), "{plain:?}");
            assert!(plain[1].ends_with(":1.2.3") || plain[1].contains(":1.2.3 "), "{plain:?}");
        }
        let narrow = render(&columns(), &rows(), Some(80), |t, _| t.to_string());
        assert!(!narrow[0].contains("CREATED"), "{narrow:?}");
        let wide = render(&columns(), &rows(), Some(200), |t, _| t.to_string());
        assert!(wide[0].contains("CREATED"));
    }

    #[test]
    fn shortening() {
        assert_eq!(shorten("abcdefghij", 10, Shrink::Middle(4)), "abcdefghij");
        assert_eq!(shorten("abcdefghij", 7, Shrink::Middle(4)), "ab…ghij");
        assert_eq!(shorten("abcdefghij", 7, Shrink::End(4)), "abcdef…");
        assert_eq!(width(&shorten("abcdefghij", 5, Shrink::Middle(4))), 5);
    }
}
