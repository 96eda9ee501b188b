//! Shared test harness lives in tests/harness (see the test files).
