//! A three-node Garage cluster on the loopback (replication factor 3), for the tests of
//! repositories in object storage. Garage is a separate test server (AGPL; never linked or
//! shipped): `scripts/bootstrap.sh` builds it once into the cache, `TIDELINE_GARAGE` names it.
//! Nodes can be stopped and started again to test quorum and outages; all stop on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Garage {
    dir: tempfile::TempDir,
    nodes: Vec<Node>,
    /// `ID@127.0.0.1:PORT` of each node, once the cluster is formed.
    ids: Vec<String>,
}

struct Node {
    config: PathBuf,
    log: PathBuf,
    s3_port: u16,
    child: Option<Child>,
}

/// A bucket and a key that may read, write and own it.
pub struct Bucket {
    pub name: String,
    pub key_id: String,
    pub secret: String,
}

pub fn garage_bin() -> PathBuf {
    let path = std::env::var_os("TIDELINE_GARAGE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/tideline/garage/bin/garage"));
    assert!(path.exists(), "Garage is missing at {}: run scripts/bootstrap.sh test", path.display());
    path
}

impl Garage {
    pub fn start() -> Garage {
        let dir = tempfile::tempdir().unwrap();
        let secret: String = random_bytes::<32>().iter().map(|b| format!("{b:02x}")).collect();
        let nodes: Vec<Node> = (0..3).map(|i| Node::configure(dir.path(), i, &secret)).collect();
        let mut garage = Garage { dir, nodes, ids: Vec::new() };
        for i in 0..3 {
            garage.start_node(i);
        }
        let ids: Vec<String> = (0..3).map(|i| garage.node_id(i)).collect();
        for id in &ids[1..] {
            garage.run(0, &["node", "connect", id]);
        }
        for id in &ids {
            let short = id.split('@').next().unwrap();
            garage.run(0, &["layout", "assign", "-z", "dc1", "-c", "1G", short]);
        }
        garage.run(0, &["layout", "apply", "--version", "1"]);
        garage.ids = ids;
        garage
    }

    /// The S3 endpoint of node `i` (every node serves the whole cluster).
    pub fn endpoint(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[i].s3_port)
    }

    /// A new bucket and a key allowed on it; retried while the layout spreads.
    pub fn bucket(&self, name: &str) -> Bucket {
        self.retry(|g| g.try_run(0, &["bucket", "create", name]));
        let info = self.retry(|g| g.try_run(0, &["key", "create", &format!("{name}-key")]));
        self.run(0, &["bucket", "allow", "--read", "--write", "--owner", name, "--key", &format!("{name}-key")]);
        let info = if info.contains("Secret key") {
            info
        } else {
            self.run(0, &["key", "info", &format!("{name}-key"), "--show-secret"])
        };
        let field = |label: &str| {
            info.lines()
                .find(|l| l.trim_start().starts_with(label))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_else(|| panic!("no {label} in: {info}"))
        };
        Bucket { name: name.to_string(), key_id: field("Key ID"), secret: field("Secret key") }
    }

    pub fn stop_node(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn start_node(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&node.log).unwrap();
        let child = Command::new(garage_bin())
            .args(["-c", node.config.to_str().unwrap(), "server"])
            .env("RUST_LOG", std::env::var("GARAGE_LOG").unwrap_or("garage=warn".into()))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        node.child = Some(child);
        // Up when it answers on RPC and S3.
        self.retry(|g| g.try_run(i, &["node", "id", "-q"]));
        let port = self.nodes[i].s3_port;
        self.retry(|_| {
            std::net::TcpStream::connect(("127.0.0.1", port)).map(|_| String::new()).map_err(|e| e.to_string())
        });
        // A restarted node rejoins the others (a real deployment lists them as bootstrap_peers).
        for (j, id) in self.ids.iter().enumerate() {
            if j != i && self.nodes[j].child.is_some() {
                self.retry(|g| g.try_run(i, &["node", "connect", id]));
            }
        }
    }

    /// `garage status` as node `i` sees the cluster, and every node's log: for failure messages.
    pub fn status(&self, i: usize) -> String {
        format!("{}\n{}", self.try_run(i, &["status"]).unwrap_or_else(|e| e), self.logs())
    }

    fn node_id(&self, i: usize) -> String {
        self.run(i, &["node", "id", "-q"]).trim().to_string()
    }

    pub fn run(&self, i: usize, args: &[&str]) -> String {
        self.try_run(i, args).unwrap_or_else(|e| panic!("garage {args:?}: {e}\n{}", self.logs()))
    }

    fn try_run(&self, i: usize, args: &[&str]) -> Result<String, String> {
        let out = Command::new(garage_bin())
            .args(["-c", self.nodes[i].config.to_str().unwrap()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            Ok(text)
        } else {
            Err(text)
        }
    }

    fn retry(&self, f: impl Fn(&Garage) -> Result<String, String>) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match f(self) {
                Ok(out) => return out,
                Err(e) if Instant::now() > deadline => panic!("Garage did not come up: {e}\n{}", self.logs()),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| std::fs::read_to_string(&n.log).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n--\n")
    }

    /// Runs a boto3 snippet against `bucket` (another S3 client than Tideline's): `s3` is the
    /// client, `b` the bucket's name, `args` the extra arguments; returns what it printed.
    fn boto3(&self, bucket: &Bucket, snippet: &str, args: &[&str]) -> String {
        let script = format!(
            "import boto3,sys,os\ns3=boto3.client('s3',endpoint_url=sys.argv[1],region_name='garage',aws_access_key_id=sys.argv[2],aws_secret_access_key=sys.argv[3])\nb=sys.argv[4]\nargs=sys.argv[5:]\n{snippet}"
        );
        let out = Command::new("python3")
            .args(["-c", &script, &self.endpoint(0), &bucket.key_id, &bucket.secret, &bucket.name])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Every key in the bucket.
    pub fn keys(&self, bucket: &Bucket) -> Vec<String> {
        let listed =
            self.boto3(bucket, "for o in s3.list_objects_v2(Bucket=b).get('Contents',[]): print(o['Key'])", &[]);
        listed.lines().map(str::to_string).collect()
    }

    /// Every object in the bucket, with its bytes.
    pub fn objects(&self, bucket: &Bucket) -> Vec<(String, Vec<u8>)> {
        let dir = tempfile::tempdir().unwrap();
        let snippet = "for i,o in enumerate(s3.list_objects_v2(Bucket=b).get('Contents',[])):\n  s3.download_file(b,o['Key'],os.path.join(args[0],str(i))); print(o['Key'])";
        let listed = self.boto3(bucket, snippet, &[dir.path().to_str().unwrap()]);
        listed
            .lines()
            .enumerate()
            .map(|(i, key)| (key.to_string(), std::fs::read(dir.path().join(i.to_string())).unwrap()))
            .collect()
    }

    /// Rewrites one object with the byte at `at` flipped.
    pub fn flip_byte(&self, bucket: &Bucket, key: &str, at: usize) {
        let snippet = "d=bytearray(s3.get_object(Bucket=b,Key=args[0])['Body'].read()); d[int(args[1])]^=1\ns3.put_object(Bucket=b,Key=args[0],Body=bytes(d))";
        self.boto3(bucket, snippet, &[key, &at.to_string()]);
    }

    /// A multipart upload begun, one part sent, never completed: what a run killed mid-upload
    /// leaves behind.
    pub fn leave_unfinished_upload(&self, bucket: &Bucket, key: &str) {
        let snippet = "u=s3.create_multipart_upload(Bucket=b,Key=args[0])['UploadId']\ns3.upload_part(Bucket=b,Key=args[0],UploadId=u,PartNumber=1,Body=b'x'*(5<<20))";
        self.boto3(bucket, snippet, &[key]);
    }

    /// Asserts `file` holds what the bucket records in `<wal_key>.b3` (wal-push's BLAKE3).
    pub fn assert_matches_b3(&self, bucket: &Bucket, wal_key: &str, file: &Path) {
        let b3 = format!("{wal_key}.b3");
        let recorded = self.objects(bucket).into_iter().find(|(k, _)| *k == b3).unwrap_or_else(|| panic!("no {b3}")).1;
        assert_eq!(blake3::hash(&std::fs::read(file).unwrap()).to_hex().as_bytes(), &recorded[..], "{b3}");
    }

    /// Multipart uploads begun and neither completed nor aborted.
    pub fn pending_uploads(&self, bucket: &Bucket) -> usize {
        self.boto3(bucket, "print(len(s3.list_multipart_uploads(Bucket=b).get('Uploads',[])))", &[])
            .trim()
            .parse()
            .unwrap()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// A port below the kernel's ephemeral range (32768–60999 here), never handed out twice in
/// this run: a stopped node must find its ports free when it starts again, and a port from
/// that range may meanwhile be taken by any outgoing connection's local end.
fn node_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let _ =
        NEXT.compare_exchange(0, 20_000 + (std::process::id() % 40) as u16 * 300, Ordering::SeqCst, Ordering::SeqCst);
    loop {
        let port = NEXT.fetch_add(1, Ordering::SeqCst);
        assert!(port < 32_768, "out of node ports");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

impl Node {
    fn configure(dir: &Path, i: usize, secret: &str) -> Node {
        let root = dir.join(format!("node{i}"));
        std::fs::create_dir_all(&root).unwrap();
        let (rpc, s3, admin) = (node_port(), node_port(), node_port());
        let config = root.join("garage.toml");
        let text = format!(
            "metadata_dir = \"{m}\"\ndata_dir = \"{d}\"\ndb_engine = \"sqlite\"\nreplication_factor = 3\n\
             rpc_bind_addr = \"127.0.0.1:{rpc}\"\nrpc_public_addr = \"127.0.0.1:{rpc}\"\nrpc_secret = \"{secret}\"\n\
             [s3_api]\ns3_region = \"garage\"\napi_bind_addr = \"127.0.0.1:{s3}\"\nroot_domain = \".s3.garage.localhost\"\n\
             [admin]\napi_bind_addr = \"127.0.0.1:{admin}\"\n",
            m = root.join("meta").display(),
            d = root.join("data").display(),
        );
        std::fs::write(&config, text).unwrap();
        std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        Node { config, log: root.join("garage.log"), s3_port: s3, child: None }
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.stop_node(i);
        }
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    use std::io::Read;
    let mut buf = [0u8; N];
    std::fs::File::open("/dev/urandom").unwrap().read_exact(&mut buf).unwrap();
    buf
}

/// `tideline repo add NAME --s3 s3://BUCKET/team/pg …` against node `node`, with the secret
/// (and, for an encrypted repository, the kit's passphrase) on stdin.
pub fn add_repository(
    home: &super::Home,
    name: &str,
    to: (&Garage, usize, &Bucket),
    secret: &str,
    extra: &[&str],
    passphrase: Option<&str>,
) -> super::CliResult {
    let (garage, node, bucket) = to;
    let url = format!("s3://{}/team/pg", bucket.name);
    let endpoint = garage.endpoint(node);
    let mut args =
        vec!["repo", "add", name, "--s3", &url, "--endpoint", &endpoint, "--region", "garage", "--path-style"];
    args.extend_from_slice(&["--access-key-id", &bucket.key_id]);
    args.extend_from_slice(extra);
    let stdin = match passphrase {
        Some(p) => format!("{secret}\n{p}\n"),
        None => format!("{secret}\n"),
    };
    home.cli(&args, Some(&stdin))
}

/// `CLI wal-fetch --repo-config CONFIG NAME DEST --pgdata PGDATA`, as restore_command runs it.
pub fn wal_fetch(cli: &Path, config: &Path, name: &str, dest: &Path, pgdata: &Path) -> std::process::Output {
    Command::new(cli)
        .args(["wal-fetch", "--repo-config"])
        .arg(config)
        .arg(name)
        .arg(dest)
        .arg("--pgdata")
        .arg(pgdata)
        .output()
        .unwrap()
}
