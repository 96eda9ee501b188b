//! The end-to-end tests are one binary, `tests/tests.rs`, with a module per file and the
//! shared harness in `tests/support/`; this library is empty.
