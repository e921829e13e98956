//! docs/operations.md carries the metric table as the code defines it, so the page cannot
//! drift from `TABLE`: change a row, and this test prints the Markdown to paste.

#[test]
fn operations_md_lists_every_metric_as_the_table_defines_it() {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/operations.md"
    ))
    .expect("read docs/operations.md");
    let table = cordon_metrics::text::markdown_table();
    assert!(
        page.contains(&table),
        "docs/operations.md's metric table differs from the code; the table is:\n\n{table}"
    );
}
