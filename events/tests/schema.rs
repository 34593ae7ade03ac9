//! The committed schema file is what API Gateway loads; it must match the Rust types.

#[test]
fn committed_schema_matches_the_types() {
    // Sorted, so the file is the same whether or not a dependency turns on serde_json's
    // `preserve_order` (jsonata-core does, in the workspace build).
    let mut schema = serde_json::to_value(skipline_events::place_order_schema()).unwrap();
    schema.sort_all_objects();
    let generated = serde_json::to_string_pretty(&schema).unwrap() + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/place-order.schema.json");
    if std::env::var_os("SKIPLINE_BLESS").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(
        committed, generated,
        "schema drifted: run `SKIPLINE_BLESS=1 cargo test -p skipline-events --test schema`"
    );
}
