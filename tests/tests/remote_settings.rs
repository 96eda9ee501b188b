//! The settings users get wrong, against a real Garage cluster. Addressing: virtual-host puts
//! the bucket in the endpoint's host name (the endpoint a provider gives, as B2's, Hetzner's or
//! Wasabi's, is not the bucket's own), and a store that does not answer the addressing given
//! is reached with the other, which is recorded and said; the bucket's host name resolves
//! through a private /etc/hosts, bound in a mount namespace of the command alone. The region,
//! and a computer whose clock is off (the whole process under libfaketime): coded errors.

use crate::support::garage::{Bucket, Garage};
use crate::support::{run_cli, tideline_bin, CliResult, Home};

/// Runs the CLI with `names` resolving to 127.0.0.1 (and nothing else beyond localhost).
fn cli_resolving(home: &Home, names: &[&str], args: &[&str], stdin: Option<&str>) -> CliResult {
    let hosts = home.path().join("hosts");
    let lines: String = names.iter().map(|n| format!("127.0.0.1 {n}\n")).collect();
    std::fs::write(&hosts, format!("127.0.0.1 localhost\n{lines}")).unwrap();
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--mount", "sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\""])
        .arg(&hosts)
        .arg(tideline_bin())
        .args(args)
        .arg("--json")
        .env("TIDELINE_HOME", home.path());
    run_cli(cmd, stdin)
}

fn add_args<'a>(name: &'a str, url: &'a str, endpoint: &'a str, bucket: &'a Bucket, path_style: bool) -> Vec<&'a str> {
    let mut args = vec!["repo", "add", name, "--s3", url, "--endpoint", endpoint, "--region", "garage"];
    args.extend_from_slice(&["--access-key-id", &bucket.key_id, "--no-encryption"]);
    if path_style {
        args.push("--path-style");
    }
    args
}

fn check<'a>(test: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    test["checks"].as_array().unwrap().iter().find(|c| c["check"] == name).unwrap()
}

#[test]
fn virtual_host_addressing_reaches_the_bucket_and_a_wrong_choice_is_corrected() {
    let garage = Garage::start();
    let bucket = garage.bucket("tideline-vhost");
    let home = Home::new();
    let port = garage.endpoint(0).rsplit(':').next().unwrap().to_string();
    // Garage's root domain is `.s3.garage.localhost`: the bucket's host name is under it.
    let endpoint = format!("http://s3.garage.localhost:{port}");
    let (service, bucket_host) = ("s3.garage.localhost", "tideline-vhost.s3.garage.localhost");
    let url = "s3://tideline-vhost/team";
    let secret = format!("{}\n", bucket.secret);

    // Virtual-host: the requests go to the bucket's own host name, and it stays virtual-host.
    let added =
        cli_resolving(&home, &[service, bucket_host], &add_args("vh", url, &endpoint, &bucket, false), Some(&secret));
    assert_eq!(added.ok()["place"]["location"]["path_style"], false, "{}", added.json);
    let test = cli_resolving(&home, &[service, bucket_host], &["repo", "test", "vh"], None).ok().clone();
    assert_eq!(test["usable"], true, "{test:#}");
    assert_eq!(check(&test, "addressing")["state"], "passed", "{test:#}");
    assert!(check(&test, "addressing")["detail"].as_str().unwrap().contains("virtual-host"), "{test:#}");
    let synced = tempfile::tempdir().unwrap();
    let folder = synced.path().join("folder");
    home.cli(&["repo", "add", "here", "--dir", folder.to_str().unwrap()], None).ok();
    std::fs::write(folder.join("note.txt"), "through the bucket's host name").unwrap();
    cli_resolving(&home, &[service, bucket_host], &["repo", "sync", "here", "vh"], None).ok();
    assert!(garage.keys(&bucket).contains(&"team/note.txt".to_string()), "{:?}", garage.keys(&bucket));

    // A bucket name with no DNS entry (a self-hosted store's usual case): the test finds the
    // store answers path-style, says so, and the repository uses it from then on.
    let no_dns = cli_resolving(&home, &[service], &["repo", "test", "vh"], None).ok().clone();
    assert_eq!(no_dns["usable"], true, "{no_dns:#}");
    assert_eq!(check(&no_dns, "addressing")["state"], "warning", "{no_dns:#}");
    let shown = home.cli(&["repo", "show", "vh"], None).ok().clone();
    assert_eq!(shown["place"]["location"]["path_style"], true, "{shown:#}");
    let again = cli_resolving(&home, &[service], &["repo", "test", "vh"], None).ok().clone();
    assert_eq!(check(&again, "addressing")["state"], "passed", "{again:#}");

    // An IP endpoint has no host name for the bucket at all: `repo add` takes path-style.
    let by_ip = home.cli(&add_args("ip", url, &garage.endpoint(1), &bucket, false), Some(&secret)).ok().clone();
    assert_eq!(by_ip["place"]["location"]["path_style"], true, "{by_ip:#}");
}

#[test]
fn a_wrong_region_and_a_clock_that_is_off_get_their_own_codes() {
    let garage = Garage::start();
    let bucket = garage.bucket("tideline-settings");
    let home = Home::new();
    let endpoint = garage.endpoint(0);
    let secret = format!("{}\n", bucket.secret);
    let mut args = add_args("off", "s3://tideline-settings/team", &endpoint, &bucket, true);

    // Garage's region is `garage`; a request signed for another is refused for it.
    args[8] = "us-east-1";
    let wrong = home.cli(&args, Some(&secret));
    assert!(wrong.err("repository_region")["hint"].as_str().unwrap().contains("--region"), "{}", wrong.json);
    args[8] = "garage";
    home.cli(&args, Some(&secret)).ok();

    // Twenty minutes slow: the store still takes the requests; the test measures the gap.
    let slow = faketime(&home, "-20m", &["repo", "test", "off"]).ok().clone();
    let clock = check(&slow, "clock");
    assert_eq!((clock["state"].as_str(), slow["usable"].as_bool()), (Some("failed"), Some(false)), "{slow:#}");
    assert_eq!(clock["error"]["code"], "repository_clock_skew", "{slow:#}");
    assert!(clock["detail"].as_str().unwrap().contains("+1"), "the store's clock is ahead: {slow:#}");
    // A day slow: Garage refuses every request (AWS does past 15 minutes).
    let day = faketime(&home, "-25h", &["repo", "test", "off"]).ok().clone();
    assert_eq!(check(&day, "reach")["error"]["code"], "repository_clock_skew", "{day:#}");
    faketime(&home, "-25h", &["repo", "rescan", "--repo", "off"]).err("repository_clock_skew");
    // With the clock right again, everything passes.
    assert_eq!(check(&home.cli(&["repo", "test", "off"], None).ok().clone(), "clock")["state"], "passed");
}

/// The CLI with its whole process's clock moved by `offset` (libfaketime).
fn faketime(home: &Home, offset: &str, args: &[&str]) -> CliResult {
    let mut cmd = std::process::Command::new("faketime");
    cmd.args(["-f", offset]).arg(tideline_bin()).args(args).arg("--json").env("TIDELINE_HOME", home.path());
    run_cli(cmd, None)
}
