//! Plain-text tables aligned like kubectl's: columns padded to their widest
//! cell, three spaces apart, no trailing blanks.

pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}   "));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn pads_to_the_widest_cell_without_trailing_blanks() {
        let got = super::render(
            &["NAME", "READY", "REASON"],
            &[
                vec!["a".into(), "True".into(), "".into()],
                vec!["longer-name".into(), "False".into(), "NoPods".into()],
            ],
        );
        assert_eq!(
            got,
            "NAME          READY   REASON\n\
             a             True\n\
             longer-name   False   NoPods\n"
        );
    }
}
