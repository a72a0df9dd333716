//! Aligned text tables the way kubectl prints them, and the conversion of
//! the API server's `meta.k8s.io/v1` Table responses into them.

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt::{self, Write as _};

/// Headers and rows of text cells.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub headers: Row,
    pub rows: Vec<Row>,
}

/// Spaces between columns, as kubectl's tabwriter pads.
const GAP: usize = 3;

impl Table {
    pub fn new<S: AsRef<str>>(headers: impl IntoIterator<Item = S>) -> Self {
        Table {
            headers: headers.into_iter().collect(),
            rows: vec![],
        }
    }

    /// Adds a row of cells.
    pub fn push<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().collect());
    }

    /// Left-aligned columns, `GAP` spaces apart, no trailing spaces.
    pub fn render(&self, headers: bool) -> String {
        let ncols = self
            .rows
            .iter()
            .map(Row::len)
            .chain([self.headers.len()])
            .max()
            .unwrap_or(0);
        let mut widths = vec![0usize; ncols];
        let all = headers
            .then_some(&self.headers)
            .into_iter()
            .chain(self.rows.iter());
        for row in all.clone() {
            for (i, w) in row.widths().enumerate() {
                widths[i] = widths[i].max(w);
            }
        }
        // One buffer for the whole table: a listing of thousands of rows
        // would otherwise allocate a line each.
        let width: usize = widths.iter().map(|w| w + GAP).sum::<usize>() + 1;
        let mut out = String::with_capacity(width * (self.rows.len() + 1));
        for row in all {
            let start = out.len();
            let last = row.len().saturating_sub(1);
            for (i, (c, w)) in row.iter().zip(row.widths()).enumerate() {
                out.push_str(c);
                if i < last {
                    pad(&mut out, widths[i] - w + GAP);
                }
            }
            let kept = out[start..].trim_end().len();
            out.truncate(start + kept);
            out.push('\n');
        }
        out
    }
}

/// Appends `n` spaces: a slice copy rather than a char at a time, which
/// showed in profiles of wide listings.
fn pad(out: &mut String, mut n: usize) {
    const SPACES: &str = "                                                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

/// One row's cells, held in one buffer. Reading a 2,000-pod table into a
/// `String` per cell spent about a quarter of the server's CPU on that call
/// allocating and freeing them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Row {
    text: String,
    /// Where each cell ends in `text`.
    ends: Vec<usize>,
}

/// What a row is first sized for: a pod's printed row fits.
const ROW_BYTES: usize = 128;
const ROW_CELLS: usize = 12;

impl Row {
    fn with_capacity(bytes: usize, cells: usize) -> Row {
        Row {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(cells),
        }
    }

    pub fn push(&mut self, cell: &str) {
        self.text.push_str(cell);
        self.ends.push(self.text.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        self.text.get(self.span(i)?)
    }

    /// Where cell `i` lies in the row's text.
    fn span(&self, i: usize) -> Option<std::ops::Range<usize>> {
        let end = *self.ends.get(i)?;
        let start = i.checked_sub(1).map_or(0, |before| self.ends[before]);
        Some(start..end)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> + Clone {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(s, e)| &self.text[s..e])
    }

    /// Each cell's printed width in characters.
    fn widths(&self) -> impl Iterator<Item = usize> + '_ {
        let ascii = self.text.is_ascii();
        self.iter()
            .map(move |c| if ascii { c.len() } else { c.chars().count() })
    }

    /// About how many bytes the row prints as.
    pub fn bytes(&self) -> usize {
        self.text.len() + GAP * self.len() + 1
    }

    /// Keeps only the cells at `keep` (strictly ascending indices), in place.
    pub fn retain(&mut self, keep: &[usize]) {
        let mut at = 0;
        let mut ends = Vec::with_capacity(keep.len());
        for &i in keep {
            let Some(std::ops::Range { start, end }) = self.span(i) else {
                // A row shorter than its columns: an empty cell keeps them aligned.
                ends.push(at);
                continue;
            };
            // `at <= start`: cells only move left.
            self.text.replace_range(at..start, "");
            let shift = start - at;
            at = end - shift;
            ends.push(at);
            // What follows moved left by `shift`.
            for e in &mut self.ends[i..] {
                *e -= shift;
            }
        }
        self.text.truncate(at);
        self.ends = ends;
    }

    /// Puts `cell` before the others.
    pub fn push_front(&mut self, cell: &str) {
        self.text.insert_str(0, cell);
        for e in &mut self.ends {
            *e += cell.len();
        }
        self.ends.insert(0, cell.len());
    }
}

impl<S: AsRef<str>> FromIterator<S> for Row {
    fn from_iter<I: IntoIterator<Item = S>>(cells: I) -> Row {
        let mut row = Row::default();
        for c in cells {
            row.push(c.as_ref());
        }
        row
    }
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A `meta.k8s.io/v1` Table response, with each row's object kept for
/// sorting and the namespace column.
#[derive(Debug, Clone, Default)]
pub struct ServerTable {
    /// (name, priority) of every column the server sent.
    pub columns: Vec<(String, i64)>,
    pub rows: Vec<ServerRow>,
}

#[derive(Debug, Clone)]
pub struct ServerRow {
    pub cells: Row,
    /// The row's object (metadata only, unless the full object was requested).
    pub object: Value,
}

impl ServerTable {
    /// Takes the columns and rows of a Table response held as a value; each
    /// row's object is moved out of `v`, not copied.
    pub fn parse(v: &mut Value) -> Result<ServerTable, String> {
        let page =
            TablePage::deserialize(v.take()).map_err(|e| format!("a malformed Table: {e}"))?;
        ServerTable::from_page(page)
    }

    /// The table of a page read straight from the response: cells become
    /// text as they are read, with no JSON value built for them.
    pub fn from_page(page: TablePage) -> Result<ServerTable, String> {
        page.check()?;
        Ok(ServerTable {
            columns: page
                .column_definitions
                .into_iter()
                .map(|c| (c.name, c.priority))
                .collect(),
            rows: page
                .rows
                .into_iter()
                .map(|r| ServerRow {
                    cells: r.cells,
                    object: r.object,
                })
                .collect(),
        })
    }

    /// Adds another page's rows (the columns are the same for one kind).
    pub fn extend(&mut self, page: ServerTable) {
        if self.columns.is_empty() {
            self.columns = page.columns;
        }
        self.rows.extend(page.rows);
    }

    /// The printable table: priority-0 columns (all columns when `wide`),
    /// headers upper-cased, a NAMESPACE column first when `namespace_column`.
    pub fn into_table(self, wide: bool, namespace_column: bool) -> Table {
        let keep: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .filter(|(_, (_, p))| wide || *p == 0)
            .map(|(i, _)| i)
            .collect();
        let mut headers: Vec<String> = vec![];
        if namespace_column {
            headers.push("NAMESPACE".into());
        }
        headers.extend(keep.iter().map(|i| self.columns[*i].0.to_uppercase()));
        let mut t = Table::new(headers);
        let all = keep.len() == self.columns.len();
        t.rows = self
            .rows
            .into_iter()
            .map(|mut r| {
                // In place: no cell is copied into a new row.
                if !all || r.cells.len() != keep.len() {
                    r.cells.retain(&keep);
                }
                if namespace_column {
                    let ns = r
                        .object
                        .pointer("/metadata/namespace")
                        .and_then(Value::as_str);
                    r.cells.push_front(ns.unwrap_or_default());
                }
                r.cells
            })
            .collect();
        t
    }
}

/// A `meta.k8s.io/v1` Table response as read off the wire.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TablePage {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub column_definitions: Vec<ColumnDefinition>,
    #[serde(default)]
    pub rows: Vec<TableRow>,
    #[serde(default)]
    pub metadata: PageMeta,
}

#[derive(Debug, Default, Deserialize)]
pub struct ColumnDefinition {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub priority: i64,
}

#[derive(Debug, Default, Deserialize)]
pub struct TableRow {
    #[serde(default)]
    pub cells: Row,
    /// Absent with `includeObject=None`.
    #[serde(default)]
    pub object: Value,
}

impl TablePage {
    /// Refuses a response that is not a Table (a server or proxy that
    /// ignored the Accept header).
    pub fn check(&self) -> Result<(), String> {
        match self.kind.as_str() {
            "Table" => Ok(()),
            other => Err(format!(
                "the API server did not answer with a Table (kind {other:?})"
            )),
        }
    }
}

/// Where a list goes on, and how many items are known to be left.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageMeta {
    #[serde(default, rename = "continue")]
    pub continue_: Option<String>,
    #[serde(default)]
    pub remaining_item_count: Option<u64>,
}

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(RowVisitor)
    }
}

struct RowVisitor;

impl<'de> Visitor<'de> for RowVisitor {
    type Value = Row;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of table cells")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Row, A::Error> {
        let mut row = Row::with_capacity(ROW_BYTES, ROW_CELLS);
        while seq.next_element_seed(CellInto(&mut row.text))?.is_some() {
            row.ends.push(row.text.len());
        }
        Ok(row)
    }
}

/// Reads one cell, appending the text [`super::cell`] prints for it to the
/// row's buffer.
struct CellInto<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for CellInto<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CellInto<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a table cell")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        self.0.push_str(s);
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<(), E> {
        self.visit_str(if b { "true" } else { "false" })
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<(), E> {
        write!(self.0, "{n}").map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<(), E> {
        write!(self.0, "{n}").map_err(E::custom)
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<(), E> {
        // serde_json's float text ("3.0", "1e21"), not Rust's ("3", "1000…").
        self.visit_str(&super::cell(&Value::from(n)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.visit_str("<none>")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let v = Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        self.visit_str(&super::cell(&v))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let v = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        self.visit_str(&super::cell(&v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn render_aligns_like_kubectl() {
        let mut t = Table::new(["NAME", "READY", "AGE"]);
        t.push(["a", "1/1", "5m"]);
        t.push(["longer-name", "0/1", ""]);
        let cases = [
            (
                true,
                "NAME          READY   AGE\na             1/1     5m\nlonger-name   0/1\n",
            ),
            (false, "a             1/1   5m\nlonger-name   0/1\n"),
        ];
        for (headers, want) in cases {
            assert_eq!(t.render(headers), want);
        }
        assert_eq!(Table::new(["X"]).render(true), "X\n");
    }

    #[test]
    fn padding_longer_than_one_run_of_spaces_still_aligns() {
        let long = "x".repeat(150);
        let mut t = Table::new(["A", "B"]);
        t.push([long.as_str(), "1"]);
        t.push(["y", "2"]);
        let text = t.render(false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0].find('1'), Some(153));
        assert_eq!(lines[1].find('2'), Some(153));
        assert_eq!(lines[1].len(), 154);
    }

    fn cells(r: &Row) -> Vec<&str> {
        r.iter().collect()
    }

    #[test]
    fn rows_keep_chosen_cells_in_place() {
        let row: Row = ["name", "", "ready", "ip", "é-node"].into_iter().collect();
        let cases: [(&[usize], &[&str]); 6] = [
            (&[0, 1, 2, 3, 4], &["name", "", "ready", "ip", "é-node"]),
            (&[0, 2, 4], &["name", "ready", "é-node"]),
            (&[1, 3], &["", "ip"]),
            (&[4], &["é-node"]),
            (&[], &[]),
            // Past the row's end: empty cells keep the columns aligned.
            (&[3, 5, 6], &["ip", "", ""]),
        ];
        for (keep, want) in cases {
            let mut r = row.clone();
            r.retain(keep);
            assert_eq!(cells(&r), want, "keep {keep:?}");
            assert_eq!(r.len(), want.len());
            assert_eq!(r.get(0), want.first().copied());
            r.push_front("ns");
            assert_eq!(cells(&r)[0], "ns");
            assert_eq!(&cells(&r)[1..], want);
        }
        assert_eq!(
            format!("{row:?}"),
            r#"["name", "", "ready", "ip", "é-node"]"#
        );
        assert_eq!(
            row.bytes(),
            "nameready".len() + "ipé-node".len() + 5 * GAP + 1
        );
    }

    #[test]
    fn render_counts_characters_not_bytes() {
        let mut t = Table::new(["NAME", "NODE"]);
        t.push(["ünïcode", "a"]);
        t.push(["ascii", "b"]);
        assert_eq!(t.render(true), "NAME      NODE\nünïcode   a\nascii     b\n");
    }

    #[test]
    fn rows_read_from_json_unescape_their_cells() {
        let r: Row = serde_json::from_str(r#"["a\"b", "\u00e9", "", 12, -3, false]"#).unwrap();
        assert_eq!(cells(&r), ["a\"b", "é", "", "12", "-3", "false"]);
        let err = serde_json::from_str::<Row>(r#"{"cells": 1}"#).unwrap_err();
        assert!(err.to_string().contains("a list of table cells"), "{err}");
    }

    fn server_table() -> Value {
        json!({
            "kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "columnDefinitions": [
                {"name": "Name", "type": "string", "priority": 0},
                {"name": "Ready", "type": "string", "priority": 0},
                {"name": "IP", "type": "string", "priority": 1},
                {"name": "Restarts", "type": "integer", "priority": 0}
            ],
            "rows": [
                {"cells": ["web-1", "1/1", "10.0.0.1", 0], "object": {"metadata": {"name": "web-1", "namespace": "a"}}},
                {"cells": ["db", "0/1", null, 3], "object": {"metadata": {"name": "db", "namespace": "bb"}}}
            ]
        })
    }

    #[test]
    fn server_tables_keep_priority_zero_unless_wide() {
        let st = ServerTable::parse(&mut server_table()).unwrap();
        let cases = [
            (
                false,
                false,
                "NAME    READY   RESTARTS\nweb-1   1/1     0\ndb      0/1     3\n",
            ),
            (
                true,
                false,
                "NAME    READY   IP         RESTARTS\nweb-1   1/1     10.0.0.1   0\ndb      0/1     <none>     3\n",
            ),
            (
                false,
                true,
                "NAMESPACE   NAME    READY   RESTARTS\na           web-1   1/1     0\nbb          db      0/1     3\n",
            ),
        ];
        for (wide, ns, want) in cases {
            assert_eq!(
                st.clone().into_table(wide, ns).render(true),
                want,
                "wide={wide} ns={ns}"
            );
        }
    }

    #[test]
    fn rows_longer_or_shorter_than_the_columns_print_under_them() {
        let mut v = json!({"kind": "Table",
            "columnDefinitions": [{"name": "A", "priority": 0}, {"name": "B", "priority": 0}],
            "rows": [{"cells": ["1", "2", "extra"]}, {"cells": ["3"]}]});
        let t = ServerTable::parse(&mut v).unwrap().into_table(true, false);
        assert_eq!(t.render(true), "A   B\n1   2\n3\n");
    }

    #[test]
    fn pages_extend_and_non_tables_are_refused() {
        let mut st = ServerTable::parse(&mut server_table()).unwrap();
        st.extend(ServerTable::parse(&mut server_table()).unwrap());
        assert_eq!(st.rows.len(), 4);
        assert!(ServerTable::parse(&mut json!({"kind": "PodList"})).is_err());
        let list: TablePage = serde_json::from_str(r#"{"kind": "PodList", "items": []}"#).unwrap();
        assert!(ServerTable::from_page(list).is_err());
    }

    #[test]
    fn a_page_read_from_the_wire_prints_every_kind_of_cell_as_kubectl_does() {
        let wire = r#"{"kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"continue": "c2", "remainingItemCount": 7},
            "columnDefinitions": [{"name": "Name", "priority": 0}, {"name": "Ready", "priority": 0},
                {"name": "Restarts", "priority": 0}, {"name": "Ratio", "priority": 0},
                {"name": "Up", "priority": 0}, {"name": "Node", "priority": 0},
                {"name": "Ports", "priority": 0}, {"name": "Labels", "priority": 0}],
            "rows": [{"cells": ["web-1", "1/1", 3, 0.5, true, null, [80, 443], {"app": "web"}]}]}"#;
        let page: TablePage = serde_json::from_str(wire).unwrap();
        assert_eq!(page.metadata.continue_.as_deref(), Some("c2"));
        assert_eq!(page.metadata.remaining_item_count, Some(7));
        let row: Vec<Value> = serde_json::from_str::<Value>(wire).unwrap()["rows"][0]["cells"]
            .as_array()
            .unwrap()
            .clone();
        let t = ServerTable::from_page(page).unwrap();
        // The same text the value-based printer gives for each cell.
        let want: Vec<String> = row.iter().map(super::super::cell).collect();
        assert_eq!(t.rows[0].cells.iter().collect::<Vec<_>>(), want);
        assert_eq!(
            want,
            [
                "web-1",
                "1/1",
                "3",
                "0.5",
                "true",
                "<none>",
                "[80,443]",
                r#"{"app":"web"}"#
            ]
        );
        assert!(t.rows[0].object.is_null(), "includeObject=None: no object");
    }

    #[test]
    fn rows_may_come_without_objects() {
        // includeObject=None: cells only.
        let mut cells_only = server_table();
        for r in cells_only["rows"].as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("object");
        }
        let st = ServerTable::parse(&mut cells_only).unwrap();
        assert_eq!(
            st.into_table(false, false).render(true),
            "NAME    READY   RESTARTS\nweb-1   1/1     0\ndb      0/1     3\n"
        );
        // Objects are moved out of the page, not copied.
        let mut page = server_table();
        let st = ServerTable::parse(&mut page).unwrap();
        assert_eq!(st.rows[1].object["metadata"]["namespace"], "bb");
        assert!(page["rows"][1]["object"].is_null());
    }
}
