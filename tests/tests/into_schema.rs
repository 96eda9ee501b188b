//! Restoring into a different schema, done by the server (not text substitution): rows, the
//! table's own sequence and the defaults using it, indexes and views land in the new schema;
//! the original schema is untouched; function bodies are listed, not rewritten.

use crate::support::{load_sample, password, psql, Home, TestCluster};

each_major!(fn tables_and_schemas_restore_under_a_new_schema_name(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    load_sample(&pg, "shop");
    psql(
        &pg,
        "shop",
        "CREATE SCHEMA sales;
         CREATE TABLE sales.orders (id serial PRIMARY KEY, amount numeric NOT NULL, customer text);
         INSERT INTO sales.orders (amount, customer) SELECT g % 100, 'c' || (g % 10) FROM generate_series(1, 500) g;
         CREATE INDEX orders_customer ON sales.orders (customer);
         CREATE VIEW sales.big_orders AS SELECT * FROM sales.orders WHERE amount > 50;
         CREATE FUNCTION sales.total() RETURNS numeric LANGUAGE sql AS 'SELECT sum(amount) FROM sales.orders';",
    );
    let home = Home::new();
    home.cli(&["profile", "add", "p", "--url", &pg.url("shop"), "--password-stdin"], Some(&pw)).ok();
    let id = home.cli(&["backup", "p", "--format", "custom"], None).ok()["id"].as_str().unwrap().to_string();
    let seq_before = psql(&pg, "shop", "SELECT last_value FROM public.actor_actor_id_seq");
    let before = crate::support::comparable_dump(&pg, "shop");

    // One table, into the live database, beside the original.
    let moved = home.cli(
        &["restore", &id, "--to-db", "shop", "--table", "public.actor", "--into-schema", "archive_actor"],
        None,
    );
    let report = moved.ok().clone();
    assert!(
        report["row_counts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["schema"] == "archive_actor" && c["table"] == "actor" && c["rows"] == 2000),
        "{report}"
    );
    assert_eq!(psql(&pg, "shop", "SELECT count(*) FROM archive_actor.actor"), "2000");
    let default = psql(
        &pg,
        "shop",
        "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
         WHERE d.adrelid = 'archive_actor.actor'::regclass",
    );
    assert!(
        default.contains("archive_actor.actor_actor_id_seq"),
        "the default uses the new schema's own sequence: {default}"
    );
    assert_eq!(psql(&pg, "shop", "SELECT count(*) FROM pg_indexes WHERE schemaname = 'archive_actor' AND indexname = 'idx_actor_last_name'"), "1");
    let next: i64 = psql(&pg, "shop", "SELECT nextval('archive_actor.actor_actor_id_seq')").parse().unwrap();
    assert!(next > 2000);
    assert_eq!(
        psql(&pg, "shop", "SELECT last_value FROM public.actor_actor_id_seq"),
        seq_before,
        "the original sequence is untouched"
    );

    // A whole schema with a view and a function.
    let copied =
        home.cli(&["restore", &id, "--to-db", "shop", "--schema", "sales", "--into-schema", "sales_copy"], None);
    let warnings = copied.ok()["warnings"].as_array().unwrap().clone();
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("sales_copy.total")), "{warnings:?}");
    assert_eq!(psql(&pg, "shop", "SELECT count(*) FROM sales_copy.orders"), "500");
    assert_eq!(
        psql(&pg, "shop", "SELECT count(*) FROM sales_copy.big_orders"),
        psql(&pg, "shop", "SELECT count(*) FROM sales.orders WHERE amount > 50")
    );
    let view = psql(&pg, "shop", "SELECT pg_get_viewdef('sales_copy.big_orders'::regclass)");
    assert!(!view.contains("sales.orders"), "the view reads the new schema: {view}");

    // The original schemas are as they were (the new schemas aside).
    psql(&pg, "shop", "DROP SCHEMA archive_actor CASCADE; DROP SCHEMA sales_copy CASCADE");
    assert!(crate::support::comparable_dump(&pg, "shop") == before, "the original schema is untouched");

    home.cli(&["restore", &id, "--to-db", "shop", "--schema", "sales", "--into-schema", "public"], None)
        .err("target_not_empty");
    home.cli(&["restore", &id, "--to-db", "shop", "--into-schema", "x"], None).err("invalid_input");
});
