//! A testbed of homes and the internet, built from Linux network namespaces, for tests of calls between homes.
//!
//! [`Testbed::new`] makes "the internet": a namespace holding a bridge at 203.0.113.1/24 (TEST-NET-3, a
//! documentation range no real host uses). [`Testbed::add_host`] adds a host of a [`Nat`] kind:
//!
//! - [`Nat::Public`]: the host sits on the internet bridge with its own 203.0.113.x address.
//! - [`Nat::Cone`] and [`Nat::Symmetric`]: a home router namespace on the bridge (203.0.113.x outside, 10.0.n.1
//!   inside) and the host behind it at 10.0.n.2. The router forwards LAN → WAN and only replies back
//!   (`FORWARD` policy DROP, `ESTABLISHED,RELATED` accepted), accepts nothing unsolicited itself, and masquerades:
//!   plain `MASQUERADE` keeps the source port when it can, giving one mapping for every destination with
//!   address-and-port filtering (a port-restricted cone); `--random-fully` takes a new port for every destination
//!   (symmetric). See ../shared/TOOLCHAIN.md.
//! - [`Nat::UdpBlocked`] (for the next kind of test) is a cone router that also drops all UDP going out.
//!
//! Every host namespace gets its own `/etc/netns/<ns>/resolv.conf` pointing at 127.0.0.1, so Chromium inside does
//! not wait on a resolver it cannot reach. Processes run inside a namespace with `ip netns exec` (see
//! `Node::start_in_namespace`, `Browser::start_in_namespace`); a [`Forward`] lets this process reach a TCP port
//! inside one (a chromedriver). Traffic only ever goes between namespaces this testbed made.
//!
//! Needs root: [`Testbed::new`] fails saying so otherwise, it never skips. Dropping the testbed kills whatever still
//! runs in its namespaces and deletes them, also when a test fails; namespaces left by a run that was killed are
//! deleted by the next one.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};

/// The gateway address of "the internet" (on its bridge).
pub const INTERNET_GATEWAY: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
/// Every namespace a testbed makes is named `hsbed-<pid>-<n>-<host>`.
const PREFIX: &str = "hsbed-";

/// The kind of network a host sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nat {
    /// A public address, no NAT, no firewall.
    Public,
    /// Behind a home router with a port-restricted cone NAT (Linux `MASQUERADE`).
    Cone,
    /// Behind a router that maps every destination to a new port (`MASQUERADE --random-fully`).
    Symmetric,
    /// Behind a cone router that drops every outgoing UDP datagram (corporate and hotel networks).
    UdpBlocked,
}

impl Nat {
    pub fn label(self) -> &'static str {
        match self {
            Nat::Public => "public",
            Nat::Cone => "cone",
            Nat::Symmetric => "symmetric",
            Nat::UdpBlocked => "udp-blocked",
        }
    }
}

/// A host of the testbed.
#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub nat: Nat,
    /// The namespace the host's programs run in.
    pub ns: String,
    /// The host's own address (10.0.n.2 behind a router).
    pub ip: Ipv4Addr,
    /// The address the internet sees it at: its own when public, its router's otherwise.
    pub public_ip: Ipv4Addr,
    /// Its router's namespace, if it has one.
    pub router_ns: Option<String>,
}

impl Host {
    /// Where other hosts reach this host's gossip port (5000, the default): only meaningful when public.
    pub fn gossip_addr(&self) -> SocketAddr {
        SocketAddr::from((self.public_ip, 5000))
    }
}

/// See the module doc.
pub struct Testbed {
    id: String,
    internet: String,
    /// Every namespace made, in order.
    namespaces: Vec<String>,
    hosts: u8,
}

static NEXT_BED: AtomicU32 = AtomicU32::new(0);

/// Runs a command line (words separated by spaces, none containing one), failing with its stderr.
fn run(line: &str) -> anyhow::Result<String> {
    let mut words = line.split_whitespace();
    let program = words.next().context("an empty command line")?;
    let out = Command::new(program)
        .args(words)
        .output()
        .with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        bail!(
            "`{line}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Fails, saying why, unless this process is root and `ip` and `iptables` are installed.
pub fn require_root() -> anyhow::Result<()> {
    if !nix::unistd::geteuid().is_root() {
        bail!(
            "this test builds network namespaces and needs root (CI runs as root); run `cargo xtask test` as root"
        );
    }
    crate::require_tool("ip", "iproute2")?;
    crate::require_tool("iptables", "iptables")?;
    Ok(())
}

impl Testbed {
    /// Makes the internet: a namespace with a bridge at [`INTERNET_GATEWAY`]/24.
    pub fn new() -> anyhow::Result<Self> {
        require_root()?;
        remove_stale_namespaces();
        let id = format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            NEXT_BED.fetch_add(1, Ordering::Relaxed)
        );
        let mut bed = Testbed {
            internet: format!("{id}-inet"),
            id,
            namespaces: Vec::new(),
            hosts: 0,
        };
        let inet = bed.internet.clone();
        bed.add_namespace(&inet)?;
        run(&format!("ip -n {inet} link add br0 type bridge"))?;
        run(&format!(
            "ip -n {inet} addr add {INTERNET_GATEWAY}/24 dev br0"
        ))?;
        run(&format!("ip -n {inet} link set br0 up"))?;
        Ok(bed)
    }

    fn add_namespace(&mut self, ns: &str) -> anyhow::Result<()> {
        run(&format!("ip netns add {ns}"))?;
        self.namespaces.push(ns.to_owned());
        // IPv4 only: a new interface's IPv6 link-local address finishes duplicate detection a second or two later,
        // and Chromium takes that address change for a network change and aborts the page load in progress
        // (ERR_NETWORK_CHANGED).
        run(&format!(
            "ip netns exec {ns} sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1"
        ))?;
        run(&format!("ip -n {ns} link set lo up"))?;
        let etc = format!("/etc/netns/{ns}");
        std::fs::create_dir_all(&etc).with_context(|| format!("creating {etc}"))?;
        std::fs::write(
            format!("{etc}/resolv.conf"),
            "nameserver 127.0.0.1
",
        )?;
        Ok(())
    }

    /// Plugs `ns` into the internet bridge as `dev` with address `ip`, default route via the gateway.
    fn attach_to_internet(&self, ns: &str, dev: &str, ip: Ipv4Addr, n: u8) -> anyhow::Result<()> {
        let inet = &self.internet;
        run(&format!(
            "ip link add p{n} netns {inet} type veth peer name {dev} netns {ns}"
        ))?;
        run(&format!("ip -n {inet} link set p{n} master br0 up"))?;
        run(&format!("ip -n {ns} addr add {ip}/24 dev {dev}"))?;
        run(&format!("ip -n {ns} link set {dev} up"))?;
        run(&format!(
            "ip -n {ns} route add default via {INTERNET_GATEWAY}"
        ))?;
        Ok(())
    }

    /// Adds a host named `name` (letters only, short) behind a network of kind `nat`.
    pub fn add_host(&mut self, name: &str, nat: Nat) -> anyhow::Result<Host> {
        self.hosts += 1;
        let n = self.hosts;
        let public_ip = Ipv4Addr::new(203, 0, 113, 9 + n);
        let ns = format!("{}-{name}", self.id);
        self.add_namespace(&ns)?;
        if nat == Nat::Public {
            self.attach_to_internet(&ns, "eth0", public_ip, n)?;
            return Ok(Host {
                name: name.to_owned(),
                nat,
                ns,
                ip: public_ip,
                public_ip,
                router_ns: None,
            });
        }
        let router = format!("{}-{name}-gw", self.id);
        self.add_namespace(&router)?;
        self.attach_to_internet(&router, "wan", public_ip, n)?;
        let (gateway, ip) = (Ipv4Addr::new(10, 0, n, 1), Ipv4Addr::new(10, 0, n, 2));
        run(&format!(
            "ip link add lan netns {router} type veth peer name eth0 netns {ns}"
        ))?;
        run(&format!("ip -n {router} addr add {gateway}/24 dev lan"))?;
        run(&format!("ip -n {router} link set lan up"))?;
        run(&format!("ip -n {ns} addr add {ip}/24 dev eth0"))?;
        run(&format!("ip -n {ns} link set eth0 up"))?;
        run(&format!("ip -n {ns} route add default via {gateway}"))?;
        self.configure_router(&router, nat)?;
        Ok(Host {
            name: name.to_owned(),
            nat,
            ns,
            ip,
            public_ip,
            router_ns: Some(router),
        })
    }

    /// Moves `host` to another home: a new router of kind `nat` (a new public address, a new LAN), as when a laptop
    /// goes from one Wi-Fi to another or a phone from Wi-Fi to mobile. The old link is unplugged (its address and
    /// every mapping through the old router are gone) and the new one plugged in at once.
    pub fn move_host(&mut self, host: &mut Host, nat: Nat) -> anyhow::Result<()> {
        anyhow::ensure!(nat != Nat::Public, "a host moves behind another router");
        self.hosts += 1;
        let n = self.hosts;
        let public_ip = Ipv4Addr::new(203, 0, 113, 9 + n);
        let router = format!("{}-{}-gw{n}", self.id, host.name);
        self.add_namespace(&router)?;
        self.attach_to_internet(&router, "wan", public_ip, n)?;
        let ns = &host.ns;
        run(&format!("ip -n {ns} link del eth0"))?;
        let (gateway, ip) = (Ipv4Addr::new(10, 0, n, 1), Ipv4Addr::new(10, 0, n, 2));
        run(&format!(
            "ip link add lan netns {router} type veth peer name eth0 netns {ns}"
        ))?;
        run(&format!("ip -n {router} addr add {gateway}/24 dev lan"))?;
        run(&format!("ip -n {router} link set lan up"))?;
        run(&format!("ip -n {ns} addr add {ip}/24 dev eth0"))?;
        run(&format!("ip -n {ns} link set eth0 up"))?;
        run(&format!("ip -n {ns} route add default via {gateway}"))?;
        self.configure_router(&router, nat)?;
        host.nat = nat;
        host.ip = ip;
        host.public_ip = public_ip;
        host.router_ns = Some(router);
        Ok(())
    }

    fn configure_router(&self, router: &str, nat: Nat) -> anyhow::Result<()> {
        let masquerade = match nat {
            Nat::Symmetric => "MASQUERADE --random-fully",
            _ => "MASQUERADE",
        };
        let mut rules = vec![
            "sysctl -q -w net.ipv4.ip_forward=1".to_owned(),
            format!("iptables -t nat -A POSTROUTING -o wan -j {masquerade}"),
        ];
        if nat == Nat::UdpBlocked {
            rules.push("iptables -A FORWARD -i lan -p udp -j DROP".into());
        }
        rules.extend(
            [
                "iptables -A FORWARD -i lan -o wan -j ACCEPT",
                "iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
                "iptables -P FORWARD DROP",
                "iptables -A INPUT -i lo -j ACCEPT",
                "iptables -A INPUT -i lan -j ACCEPT",
                "iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
                "iptables -P INPUT DROP",
            ]
            .map(String::from),
        );
        for rule in rules {
            run(&format!("ip netns exec {router} {rule}"))?;
        }
        Ok(())
    }

    /// Shortens how long `host`'s router keeps an idle UDP mapping (Linux defaults: 30 s, 120 s once both ways
    /// have seen traffic), as stingier home routers do.
    pub fn set_udp_mapping_timeout(&self, host: &Host, secs: u32) -> anyhow::Result<()> {
        let router = host
            .router_ns
            .as_deref()
            .context("a public host has no router")?;
        run(&format!(
            "ip netns exec {router} sysctl -q -w net.netfilter.nf_conntrack_udp_timeout={secs} \
             net.netfilter.nf_conntrack_udp_timeout_stream={secs}"
        ))?;
        Ok(())
    }

    /// The namespace names this testbed made (for diagnostics).
    pub fn namespaces(&self) -> &[String] {
        &self.namespaces
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            delete_namespace(ns);
        }
    }
}

/// Kills what runs in `ns`, deletes it and its /etc/netns folder.
fn delete_namespace(ns: &str) {
    if let Ok(pids) = run(&format!("ip netns pids {ns}")) {
        for pid in pids.split_whitespace() {
            let _ = Command::new("kill").args(["-9", pid]).status();
        }
    }
    let _ = run(&format!("ip netns del {ns}"));
    let _ = std::fs::remove_dir_all(format!("/etc/netns/{ns}"));
}

/// Deletes namespaces of testbeds whose process is gone (a run that was killed before it could clean up).
fn remove_stale_namespaces() {
    let Ok(list) = run("ip netns list") else {
        return;
    };
    for line in list.lines() {
        let Some(ns) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rest) = ns.strip_prefix(PREFIX) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        if !pid.is_empty() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            delete_namespace(ns);
        }
    }
}

/// A TCP port on this process's loopback that leads to `127.0.0.1:<port>` inside a namespace: one thread enters
/// the namespace (setns affects only the calling thread) and connects there for every connection accepted here.
/// Dropping it stops the thread, so nothing keeps the namespace alive.
pub struct Forward {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Forward {
    pub fn start(ns: &str, target_port: u16) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let netns = File::open(format!("/var/run/netns/{ns}"))
            .with_context(|| format!("opening network namespace {ns}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || {
                if let Err(err) = nix::sched::setns(&netns, nix::sched::CloneFlags::CLONE_NEWNET) {
                    eprintln!("forward: entering the namespace failed: {err}");
                    return;
                }
                drop(netns);
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            let _ = client.set_nonblocking(false);
                            // Connected from this thread, so inside the namespace.
                            if let Ok(upstream) =
                                TcpStream::connect((Ipv4Addr::LOCALHOST, target_port))
                            {
                                pipe(client, upstream);
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(10))
                        }
                        Err(_) => return,
                    }
                }
            }
        });
        Ok(Self {
            port,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Copies both ways between two connected sockets until either side closes.
fn pipe(a: TcpStream, b: TcpStream) {
    let (Ok(a2), Ok(b2)) = (a.try_clone(), b.try_clone()) else {
        return;
    };
    fn copy(mut from: TcpStream, mut to: TcpStream) {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    }
    std::thread::spawn(move || copy(a, b2));
    std::thread::spawn(move || copy(b, a2));
}
