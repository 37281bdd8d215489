//! Replicas with `--leader-elect`: one leads and reconciles; when it stops gracefully the standby
//! takes over at once; when it is SIGKILLed the standby takes over once the Lease expires. No
//! resource is ever created twice.

#[path = "support/crash.rs"]
mod crash;
mod support;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use serde_json::json;
use support::*;

async fn holder(env: &Env) -> Option<String> {
    let leases: kube::Api<Lease> = kube::Api::namespaced(env.client.clone(), NS);
    leases
        .get_opt("stytch-saml-operator")
        .await
        .unwrap()?
        .spec?
        .holder_identity
}

/// Waits until a replica holds the Lease.
async fn wait_for_holder(env: &Env, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while holder(env).await.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nobody took the Lease"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn spec(name: &str) -> serde_json::Value {
    let mut s = full_spec(&[&cert(name)]);
    s["displayName"] = json!(name);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_takes_over_when_the_leader_goes() {
    let env = Env::new().await;
    let flags = ["--leader-elect", "--leader-election-lease-seconds", "3"];
    let first = env.spawn_operator(&flags);
    wait_for_holder(&env, Duration::from_secs(10)).await;
    let second = env.spawn_operator(&flags);
    let leader = holder(&env).await.unwrap();
    env.apply("one", spec("one")).await;
    env.wait_for("one", "Ready", Duration::from_secs(20), |o| {
        is(o, "Ready", "True")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        holder(&env).await.unwrap(),
        leader,
        "the leader kept its Lease"
    );

    // Graceful stop releases the Lease: the standby takes over at once.
    first.stop().await;
    env.apply("two", spec("two")).await;
    env.wait_for("two", "Ready", Duration::from_secs(20), |o| {
        is(o, "Ready", "True")
    })
    .await;
    let new_leader = holder(&env).await.unwrap();
    assert_ne!(new_leader, leader);

    let creates = env.writes_to("create_connection");
    assert_eq!(
        creates,
        2,
        "exactly one create per resource: {:?}",
        env.writes()
    );
    assert_eq!(env.connections().len(), 2);
    second.stop().await;
}

const LEASE_FLAGS: [&str; 3] = ["--leader-elect", "--leader-election-lease-seconds", "3"];

fn spawn_binary(env: &Env, pod: &str) -> tokio::process::Child {
    crash::spawn_binary(env, pod, &LEASE_FLAGS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_within_the_lease_duration() {
    let env = Env::new().await;
    let mut a = spawn_binary(&env, "replica-a");
    wait_for_holder(&env, Duration::from_secs(15)).await;
    let mut b = spawn_binary(&env, "replica-b");
    env.apply("one", spec("one")).await;
    env.wait_for("one", "Ready", Duration::from_secs(20), |o| {
        is(o, "Ready", "True")
    })
    .await;
    let leader = holder(&env).await.unwrap();
    let (victim, survivor) = if leader.starts_with("replica-a") {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    victim.kill().await.unwrap();
    let killed_at = tokio::time::Instant::now();
    env.apply("two", spec("two")).await;
    env.wait_for("two", "Ready", Duration::from_secs(20), |o| {
        is(o, "Ready", "True")
    })
    .await;
    let takeover = killed_at.elapsed();
    let new_leader = holder(&env).await.unwrap();
    assert_ne!(new_leader, leader);
    println!("takeover after SIGKILL: {takeover:?} (lease 3 s)");
    assert!(takeover < Duration::from_secs(8), "took {takeover:?}");
    let creates = env.writes_to("create_connection");
    assert_eq!(
        creates,
        2,
        "exactly one create per resource: {:?}",
        env.writes()
    );
    survivor.kill().await.unwrap();
}

/// Samples which replica holds which client port every 20 ms until dropped.
fn sample_ports(
    processes: Vec<(String, u32)>,
) -> (
    std::sync::Arc<std::sync::Mutex<crash::PortOwners>>,
    tokio::task::JoinHandle<()>,
) {
    let owners = std::sync::Arc::new(std::sync::Mutex::new(crash::PortOwners::default()));
    let shared = owners.clone();
    let task = tokio::spawn(async move {
        loop {
            shared.lock().unwrap().sample(&processes);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    (owners, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_killed_mid_write_is_replaced_and_the_replicas_never_write_at_once() {
    let env = Env::new().await;
    // Every Stytch write takes 400 ms before and 200 ms after the change.
    for method in ["POST", "PUT", "DELETE"] {
        env.stytch
            .admin()
            .add_fault(sandbox::stytch::faults::FaultRule {
                path: "/v1/b2b/sso/".into(),
                method: Some(method.into()),
                latency_ms: 400,
                latency_after_ms: 200,
                ..Default::default()
            });
    }
    let mut a = spawn_binary(&env, "replica-a");
    wait_for_holder(&env, Duration::from_secs(15)).await;
    let mut b = spawn_binary(&env, "replica-b");
    let (owners, sampler) = sample_ports(vec![
        ("replica-a".into(), a.id().unwrap()),
        ("replica-b".into(), b.id().unwrap()),
    ]);
    let leader = holder(&env).await.unwrap();
    let names: Vec<String> = (0..6).map(|i| format!("w{i}")).collect();
    for name in &names {
        env.apply(name, spec(name)).await;
    }
    // Mid-work: two creates done and another write in flight.
    let admin = env.stytch.admin();
    let mid_work = crash::poll(Duration::from_secs(60), || {
        let done = admin
            .requests()
            .iter()
            .filter(|e| e.endpoint == "create_connection" && e.status == 200)
            .count();
        done >= 2 && admin.in_flight().iter().any(|e| e.write)
    })
    .await;
    assert!(mid_work, "the leader never got to work: {:?}", env.writes());
    let (victim, victim_name, survivor_name) = if leader.starts_with("replica-a") {
        (&mut a, "replica-a", "replica-b")
    } else {
        (&mut b, "replica-b", "replica-a")
    };
    let kill_ms = crash::now_ms();
    victim.kill().await.unwrap();
    let killed_at = tokio::time::Instant::now();
    let mut new_holder_after = None;
    while new_holder_after.is_none() {
        assert!(
            killed_at.elapsed() < Duration::from_secs(30),
            "nobody took over"
        );
        if holder(&env)
            .await
            .is_some_and(|h| h.starts_with(survivor_name))
        {
            new_holder_after = Some(killed_at.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for name in &names {
        env.wait_for(name, "Ready", Duration::from_secs(60), |o| {
            is(o, "Ready", "True")
        })
        .await;
    }
    sampler.abort();
    let owners = owners.lock().unwrap().clone();

    // Attribute every write (answered or abandoned) to a replica by its client port.
    let writes: Vec<_> = admin
        .requests()
        .into_iter()
        .chain(admin.abandoned())
        .filter(|e| e.write)
        .collect();
    let by: Vec<(&str, i64, i64)> = writes
        .iter()
        .map(|e| {
            let (start, end) = crash::window(e);
            let owner = owners.owner(e).unwrap_or("unknown");
            (owner, start, end.unwrap_or(i64::MAX))
        })
        .collect();
    let unknown = by.iter().filter(|w| w.0 == "unknown").count();
    let overlapping = by
        .iter()
        .enumerate()
        .flat_map(|(i, x)| by[i + 1..].iter().map(move |y| (x, y)))
        .filter(|(x, y)| x.0 != y.0 && x.1 <= y.2 && y.1 <= x.2)
        .count();
    let victim_last_end = by.iter().filter(|w| w.0 == victim_name).map(|w| w.2).max();
    let survivor_first_start = by
        .iter()
        .filter(|w| w.0 == survivor_name)
        .map(|w| w.1)
        .min();
    let first_write_after = survivor_first_start.map(|s| s - kill_ms);
    println!(
        "leader overlap: {} writes ({} by {victim_name}, {} by {survivor_name}, {unknown} unattributed); \
         overlapping writers {overlapping}; Lease taken over {new_holder_after:?} after the SIGKILL \
         (lease 3 s); new leader's first write {first_write_after:?} ms after it; \
         victim's last write answered {:?} ms after it",
        by.len(),
        by.iter().filter(|w| w.0 == victim_name).count(),
        by.iter().filter(|w| w.0 == survivor_name).count(),
        victim_last_end.map(|e| e - kill_ms),
    );
    assert!(
        owners.conflicts.is_empty(),
        "port reused: {:?}",
        owners.conflicts
    );
    assert_eq!(unknown, 0, "every write is attributed");
    assert_eq!(overlapping, 0, "two replicas wrote at once");
    assert!(victim_last_end.unwrap() < survivor_first_start.unwrap());
    assert!(by.iter().filter(|w| w.0 == victim_name).count() >= 2);
    let takeover = new_holder_after.unwrap();
    // The Lease expires at most 3 s after its last renewal (before the kill) and the standby
    // retries within its 1 s grace; 2 s more for a loaded machine.
    assert!(takeover < Duration::from_secs(6), "took {takeover:?}");
    let creates = env.writes_to("create_connection");
    assert_eq!(env.connections().len(), names.len());
    assert!(creates >= names.len());
    let survivor = if victim_name == "replica-a" {
        &mut b
    } else {
        &mut a
    };
    survivor.kill().await.unwrap();
}
