//! Aligned text tables the way kubectl prints them, and the conversion of
//! the API server's `meta.k8s.io/v1` Table responses into them.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;

/// Headers and rows of text cells.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Spaces between columns, as kubectl's tabwriter pads.
const GAP: usize = 3;

impl Table {
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        Table {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: vec![],
        }
    }

    /// Left-aligned columns, `GAP` spaces apart, no trailing spaces.
    pub fn render(&self, headers: bool) -> String {
        let ncols = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.headers.len()])
            .max()
            .unwrap_or(0);
        let mut widths = vec![0usize; ncols];
        let all = headers
            .then_some(&self.headers)
            .into_iter()
            .chain(self.rows.iter());
        for row in all.clone() {
            for (i, c) in row.iter().enumerate() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        // One buffer for the whole table: a listing of thousands of rows
        // would otherwise allocate a line each.
        let width: usize = widths.iter().map(|w| w + GAP).sum::<usize>() + 1;
        let mut out = String::with_capacity(width * (self.rows.len() + 1));
        for row in all {
            let start = out.len();
            for (i, c) in row.iter().enumerate() {
                out.push_str(c);
                if i + 1 < row.len() {
                    let pad = widths[i] - c.chars().count() + GAP;
                    out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            let kept = out[start..].trim_end().len();
            out.truncate(start + kept);
            out.push('\n');
        }
        out
    }

    /// About how many bytes the rows print as.
    pub fn bytes_estimate(&self) -> usize {
        self.rows
            .iter()
            .map(|r| r.iter().map(|c| c.len() + GAP).sum::<usize>())
            .sum()
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
    pub cells: Vec<String>,
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
                    cells: r.cells.into_iter().map(|c| c.0).collect(),
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
        for mut r in self.rows {
            let mut row = Vec::with_capacity(keep.len() + 1);
            if namespace_column {
                row.push(
                    r.object
                        .pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                );
            }
            row.extend(
                keep.iter()
                    .map(|i| r.cells.get_mut(*i).map(std::mem::take).unwrap_or_default()),
            );
            t.rows.push(row);
        }
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
    pub cells: Vec<Cell>,
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

/// One cell as the text [`super::cell`] prints for it.
#[derive(Debug, Default)]
pub struct Cell(pub String);

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CellVisitor)
    }
}

struct CellVisitor;

impl<'de> Visitor<'de> for CellVisitor {
    type Value = Cell;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a table cell")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Cell, E> {
        Ok(Cell(s.to_string()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Cell, E> {
        Ok(Cell(s))
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Cell, E> {
        Ok(Cell(super::cell(&Value::Bool(b))))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Cell, E> {
        Ok(Cell(super::cell(&Value::from(n))))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Cell, E> {
        Ok(Cell(super::cell(&Value::from(n))))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Cell, E> {
        Ok(Cell(super::cell(&Value::from(n))))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Cell, E> {
        Ok(Cell(super::cell(&Value::Null)))
    }
    fn visit_none<E: de::Error>(self) -> Result<Cell, E> {
        self.visit_unit()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Cell, A::Error> {
        let v = Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Cell(super::cell(&v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Cell, A::Error> {
        let v = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Cell(super::cell(&v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn render_aligns_like_kubectl() {
        let mut t = Table::new(["NAME", "READY", "AGE"]);
        t.rows.push(vec!["a".into(), "1/1".into(), "5m".into()]);
        t.rows
            .push(vec!["longer-name".into(), "0/1".into(), "".into()]);
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
        assert_eq!(t.rows[0].cells, want);
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
