//! Odd names through every selection path: a database, schemas, tables and an owner with
//! spaces, quotes, dots, pattern characters and unicode; `backup --table/--schema`,
//! `restore --table/--schema`, `toc` and copy-back. And a table-selection backup of a
//! non-public schema restored into a new database: the schema comes with its tables.

use crate::support::{password, psql, Home, TestCluster};

const DB: &str = "odd db.ü";
const SCHEMA: &str = "Sch \"ema";
const TABLE: &str = "Ta ble.x*?";
/// How the CLI contract spells the table.
const SPEC: &str = r#""Sch ""ema"."Ta ble.x*?""#;

fn load(pg: &TestCluster) {
    psql(pg, "postgres", r#"CREATE DATABASE "odd db.ü"; CREATE ROLE "my user""#);
    psql(
        pg,
        DB,
        r#"CREATE SCHEMA "Sch ""ema" AUTHORIZATION "my user";
           CREATE TABLE "Sch ""ema"."Ta ble.x*?" (id serial PRIMARY KEY, v text);
           CREATE INDEX "odd idx" ON "Sch ""ema"."Ta ble.x*?" (v);
           INSERT INTO "Sch ""ema"."Ta ble.x*?" (v) SELECT 'v' || g FROM generate_series(1, 3) g;
           CREATE TABLE "Sch ""ema"."Ta ble" (id int);
           CREATE SCHEMA sales;
           CREATE TABLE sales.orders (id serial PRIMARY KEY, amount int);
           INSERT INTO sales.orders (amount) VALUES (10), (20);
           CREATE TABLE public."Ünï cödé" (id int);
           INSERT INTO public."Ünï cödé" VALUES (1);"#,
    );
}

fn count(pg: &TestCluster, db: &str, table: &str) -> String {
    psql(pg, db, &format!("SELECT count(*) FROM {table}"))
}

fn backup(home: &Home, extra: &[&str]) -> String {
    let mut args = vec!["backup", "p", "--format", "custom"];
    args.extend_from_slice(extra);
    home.cli(&args, None).ok()["id"].as_str().unwrap().to_string()
}

each_major!(fn odd_names_round_trip_through_every_selection_path(major) {
    let pw = password();
    let pg = TestCluster::start(major, Some(&pw));
    load(&pg);
    let home = Home::new();
    let port = pg.port().to_string();
    home.cli(
        &["profile", "add", "p", "--host", "127.0.0.1", "--port", &port, "--user", "postgres"]
            .into_iter()
            .chain(["--database", DB, "--sslmode", "disable", "--password-stdin"])
            .collect::<Vec<_>>(),
        Some(&pw),
    )
    .ok();

    // A table-selection backup of a non-public schema, restored into a new database, in
    // the custom and plain formats: the schema is created for it.
    let orders = backup(&home, &["--table", "sales.orders"]);
    home.cli(&["restore", &orders, "--to-db", "r orders"], None).ok();
    assert_eq!(count(&pg, "r orders", "sales.orders"), "2", "PostgreSQL {major}");
    let plain = home.cli(&["backup", "p", "--format", "plain", "--table", "sales.orders"], None);
    let plain = plain.ok()["id"].as_str().unwrap().to_string();
    home.cli(&["restore", &plain, "--to-db", "r orders plain"], None).ok();
    assert_eq!(count(&pg, "r orders plain", "sales.orders"), "2", "PostgreSQL {major}");

    // backup --table with the odd name: exactly that table, not "Ta ble".
    let one = backup(&home, &["--table", SPEC]);
    let listed = home.cli(&["toc", &one], None).ok()["entries"].clone();
    let tables: Vec<(String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "TABLE")
        .map(|e| (e["schema"].as_str().unwrap().to_string(), e["name"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(tables, vec![(SCHEMA.to_string(), TABLE.to_string())], "PostgreSQL {major}: {listed}");
    home.cli(&["restore", &one, "--to-db", "r one"], None).ok();
    assert_eq!(count(&pg, "r one", SPEC), "3", "PostgreSQL {major}");

    // restore --table and --schema from a whole backup, by the names `toc` shows.
    let whole = backup(&home, &[]);
    let toc = home.cli(&["toc", &whole], None).ok()["entries"].clone();
    let shown =
        toc.as_array().unwrap().iter().find(|e| e["kind"] == "TABLE" && e["name"] == TABLE).unwrap().clone();
    assert_eq!((shown["schema"].as_str(), shown["owner"].as_str()), (Some(SCHEMA), Some("postgres")), "{shown}");
    let owner =
        toc.as_array().unwrap().iter().find(|e| e["kind"] == "SCHEMA" && e["name"] == SCHEMA).unwrap().clone();
    assert_eq!(owner["owner"], "my user", "{owner}");
    home.cli(&["restore", &whole, "--to-db", "r table", "--table", SPEC], None).ok();
    assert_eq!(count(&pg, "r table", SPEC), "3", "PostgreSQL {major}");
    let indexes = psql(
        &pg,
        "r table",
        "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'Ta ble.x*?'",
    );
    assert_eq!(indexes, "Ta ble.x*?_pkey,odd idx", "PostgreSQL {major}");
    assert_eq!(psql(&pg, "r table", r#"SELECT to_regclass('"Sch ""ema"."Ta ble"') IS NULL"#), "t");
    home.cli(&["restore", &whole, "--to-db", "r unicode", "--table", "Ünï cödé"], None).ok();
    assert_eq!(count(&pg, "r unicode", r#"public."Ünï cödé""#), "1");
    home.cli(&["restore", &whole, "--to-db", "r schema", "--schema", SCHEMA], None).ok();
    assert_eq!(count(&pg, "r schema", SPEC), "3", "PostgreSQL {major}");
    assert_eq!(psql(&pg, "r schema", "SELECT to_regclass('sales.orders') IS NULL"), "t");

    // backup --schema with the odd name, restored whole.
    let schema = backup(&home, &["--schema", SCHEMA]);
    home.cli(&["restore", &schema, "--to-db", "r schema backup"], None).ok();
    assert_eq!(count(&pg, "r schema backup", SPEC), "3", "PostgreSQL {major}");

    // Copy-back from a sandbox into the live database, under a new name and replacing.
    let restored = home.cli(&["restore", &whole, "--sandbox"], None).ok()["sandbox"]["id"].clone();
    let sandbox = restored.as_str().unwrap().to_string();
    let copied = home.cli(&["sandbox", "copy-back", &sandbox, "--table", SPEC, "--to", "p"], None).ok().clone();
    assert_eq!(copied["tables"][0]["rows"], 3, "{copied}");
    psql(&pg, DB, r#"DELETE FROM "Sch ""ema"."Ta ble.x*?""#);
    home.cli(&["sandbox", "copy-back", &sandbox, "--table", SPEC, "--to", "p", "--replace", "--yes"], None).ok();
    assert_eq!(count(&pg, DB, SPEC), "3", "PostgreSQL {major}");
    home.cli(&["sandbox", "remove", &sandbox], None).ok();
});
