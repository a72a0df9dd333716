//! Aligned text tables the way kubectl prints them, and the conversion of
//! the API server's `meta.k8s.io/v1` Table responses into them.

use serde_json::Value;

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
        let mut out = String::new();
        for row in all {
            let mut line = String::new();
            for (i, c) in row.iter().enumerate() {
                line.push_str(c);
                if i + 1 < row.len() {
                    let pad = widths[i] - c.chars().count() + GAP;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
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
    /// Takes the columns and rows of a Table response; each row's object is
    /// moved out of `v`, not copied. Cells are rendered as text right away
    /// so a row costs what it prints.
    pub fn parse(v: &mut Value) -> Result<ServerTable, String> {
        let mut t = ServerTable::header(v)?;
        t.rows = v
            .get_mut("rows")
            .and_then(Value::as_array_mut)
            .map(|rows| {
                rows.iter_mut()
                    .map(|r| ServerRow {
                        cells: r
                            .get("cells")
                            .and_then(Value::as_array)
                            .map(|c| c.iter().map(super::cell).collect())
                            .unwrap_or_default(),
                        object: r.get_mut("object").map(Value::take).unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(t)
    }

    /// The columns of a Table response, without its rows.
    pub fn header(v: &Value) -> Result<ServerTable, String> {
        if v.get("kind").and_then(Value::as_str) != Some("Table") {
            return Err(format!(
                "the API server did not answer with a Table (kind {:?})",
                v.get("kind").and_then(Value::as_str).unwrap_or_default()
            ));
        }
        let columns = v
            .get("columnDefinitions")
            .and_then(Value::as_array)
            .map(|cols| {
                cols.iter()
                    .map(|c| {
                        (
                            c.get("name")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(ServerTable {
            columns,
            rows: vec![],
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
    pub fn to_table(&self, wide: bool, namespace_column: bool) -> Table {
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
        for r in &self.rows {
            let mut row = vec![];
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
                    .map(|i| r.cells.get(*i).cloned().unwrap_or_default()),
            );
            t.rows.push(row);
        }
        t
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
                st.to_table(wide, ns).render(true),
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
        assert!(ServerTable::header(&json!({"kind": "PodList"})).is_err());
    }

    #[test]
    fn the_header_reads_only_columns_and_rows_may_come_without_objects() {
        let page = server_table();
        let h = ServerTable::header(&page).unwrap();
        assert_eq!((h.columns.len(), h.rows.len()), (4, 0));
        // includeObject=None: cells only.
        let mut cells_only = server_table();
        for r in cells_only["rows"].as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("object");
        }
        let st = ServerTable::parse(&mut cells_only).unwrap();
        assert_eq!(
            st.to_table(false, false).render(true),
            "NAME    READY   RESTARTS\nweb-1   1/1     0\ndb      0/1     3\n"
        );
        // Objects are moved out of the page, not copied.
        let mut page = server_table();
        let st = ServerTable::parse(&mut page).unwrap();
        assert_eq!(st.rows[1].object["metadata"]["namespace"], "bb");
        assert!(page["rows"][1]["object"].is_null());
    }
}
