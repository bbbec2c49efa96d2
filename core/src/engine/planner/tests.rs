use super::*;
use proptest::prelude::*;
use proptest::sample::Index;
use std::collections::{HashMap, HashSet};

fn node(name: &str, priority: i32, deps: &[&str], status: &str) -> PlanNode {
    PlanNode {
        name: name.into(),
        priority,
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        status: status.into(),
    }
}

fn names(nodes: &[PlanNode]) -> Result<Vec<String>, PlanError> {
    Ok(plan(nodes)?
        .into_iter()
        .map(|i| nodes[i].name.clone())
        .collect())
}

#[test]
fn dependencies_then_priority_then_name() {
    let nodes = [
        node("z_low", 1, &[], "PENDING"),
        node("b", 100, &[], "PENDING"),
        node("a", 100, &[], "FAILED"),
        node("needs_b", 0, &["b"], "ROLLED_BACK"),
        node("done", 0, &[], "COMPLETED"),
        node("needs_done", 50, &["done"], "PENDING"),
    ];
    assert_eq!(
        names(&nodes).unwrap(),
        ["z_low", "needs_done", "a", "b", "needs_b"]
    );
}

#[test]
fn dependency_errors() {
    let unknown = [node("a", 1, &["ghost"], "PENDING")];
    assert_eq!(
        plan(&unknown).unwrap_err(),
        PlanError::UnknownDependency {
            migration: "a".into(),
            dependency: "ghost".into()
        }
    );
    let running = [
        node("a", 1, &["r"], "PENDING"),
        node("r", 1, &[], "RUNNING"),
    ];
    assert_eq!(plan(&running).unwrap_err().code(), "DEPENDENCY_RUNNING");
    let dup = [node("a", 1, &[], "PENDING"), node("a", 2, &[], "PENDING")];
    assert_eq!(plan(&dup).unwrap_err().code(), "DUPLICATE_MIGRATION_NAME");
    let status = [node("a", 1, &[], "PAUSED")];
    assert_eq!(plan(&status).unwrap_err().code(), "UNKNOWN_STATUS");
    // A completed migration's stale dependency does not block new plans.
    let stale = [
        node("old", 1, &["deleted"], "COMPLETED"),
        node("new", 1, &["old"], "PENDING"),
    ];
    assert_eq!(names(&stale).unwrap(), ["new"]);
}

#[test]
fn cycles_are_named_in_order() {
    let nodes = [
        node("c", 1, &["a"], "PENDING"),
        node("a", 1, &["b"], "PENDING"),
        node("b", 1, &["c"], "PENDING"),
        node("tail", 1, &["a"], "PENDING"),
        node("free", 1, &[], "PENDING"),
    ];
    assert_eq!(
        plan(&nodes).unwrap_err(),
        PlanError::Cycle {
            cycle: vec!["a".into(), "b".into(), "c".into()]
        }
    );
    let selfish = [node("s", 1, &["s"], "PENDING")];
    assert_eq!(
        plan(&selfish).unwrap_err(),
        PlanError::Cycle {
            cycle: vec!["s".into()]
        }
    );
}

#[test]
fn closure_in_reverse_execution_order() {
    let nodes = [
        node("base", 1, &[], "COMPLETED"),
        node("mid", 1, &["base"], "COMPLETED"),
        node("leaf", 1, &["mid", "other"], "COMPLETED"),
        node("other", 1, &[], "COMPLETED"),
        node("side", 5, &["base"], "PENDING"),
    ];
    // Execution order would be mid, leaf (priority 1), side (priority 5).
    assert_eq!(
        dependents_closure("base", &nodes).unwrap(),
        ["side", "leaf", "mid"]
    );
    assert!(dependents_closure("leaf", &nodes).unwrap().is_empty());
    assert_eq!(
        dependents_closure("nope", &nodes).unwrap_err().code(),
        "UNKNOWN_MIGRATION"
    );
    let looped = [
        node("a", 1, &["b"], "COMPLETED"),
        node("b", 1, &["a"], "COMPLETED"),
    ];
    assert_eq!(
        dependents_closure("a", &looped).unwrap_err().code(),
        "DEPENDENCY_CYCLE"
    );
}

const STATUSES: [&str; 4] = ["PENDING", "FAILED", "ROLLED_BACK", "COMPLETED"];

/// Random DAG: node `i` may depend only on nodes `< i`; names are a shuffle so
/// that name order says nothing about dependency order.
fn dag() -> impl Strategy<Value = Vec<PlanNode>> {
    (1..40usize).prop_flat_map(|n| {
        (
            proptest::collection::vec(proptest::collection::vec(any::<Index>(), 0..4), n),
            proptest::collection::vec(0..STATUSES.len(), n),
            proptest::collection::vec(-2..3i32, n),
            Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
        )
            .prop_map(move |(deps, statuses, priorities, perm)| {
                let name = |i: usize| format!("m{:02}", perm[i]);
                (0..n)
                    .map(|i| PlanNode {
                        name: name(i),
                        priority: priorities[i],
                        depends_on: if i == 0 {
                            vec![]
                        } else {
                            deps[i].iter().map(|x| name(x.index(i))).collect()
                        },
                        status: STATUSES[statuses[i]].into(),
                    })
                    .collect()
            })
    })
}

proptest! {
    #[test]
    fn plan_respects_dependencies_and_is_a_permutation(nodes in dag()) {
        let order = names(&nodes).unwrap();
        let status: HashMap<_, _> = nodes.iter().map(|n| (n.name.clone(), n.status.as_str())).collect();
        let pending: HashSet<_> = nodes.iter().filter(|n| n.status != "COMPLETED").map(|n| n.name.clone()).collect();
        prop_assert_eq!(order.len(), pending.len());
        prop_assert_eq!(order.iter().cloned().collect::<HashSet<_>>(), pending);
        let pos: HashMap<_, _> = order.iter().enumerate().map(|(p, n)| (n.clone(), p)).collect();
        for n in nodes.iter().filter(|n| pos.contains_key(&n.name)) {
            for d in &n.depends_on {
                prop_assert!(status[d] == "COMPLETED" || pos[d] < pos[&n.name], "{} before {}", d, n.name);
            }
        }
    }

    #[test]
    fn plan_is_deterministic_and_greedy(nodes in dag()) {
        let order = names(&nodes).unwrap();
        let mut reversed = nodes.clone();
        reversed.reverse();
        prop_assert_eq!(&names(&reversed).unwrap(), &order);
        // Each pick is the smallest (priority, name) among the ready migrations.
        let by_name: HashMap<_, _> = nodes.iter().map(|n| (n.name.clone(), n)).collect();
        let mut done: HashSet<String> = nodes.iter().filter(|n| n.status == "COMPLETED").map(|n| n.name.clone()).collect();
        for picked in &order {
            let best = nodes.iter()
                .filter(|n| !done.contains(&n.name) && n.depends_on.iter().all(|d| done.contains(d)))
                .map(|n| (n.priority, n.name.clone()))
                .min().unwrap();
            prop_assert_eq!(&best, &(by_name[picked].priority, picked.clone()));
            done.insert(picked.clone());
        }
    }

    #[test]
    fn injected_cycle_is_reported_with_real_edges(mut nodes in dag(), a in any::<Index>(), b in any::<Index>()) {
        prop_assume!(nodes.len() >= 2);
        for n in nodes.iter_mut() { n.status = "PENDING".into(); }
        let hi = 1 + a.index(nodes.len() - 1);
        let lo = b.index(hi);
        let (hi_name, lo_name) = (nodes[hi].name.clone(), nodes[lo].name.clone());
        nodes[hi].depends_on.push(lo_name);
        nodes[lo].depends_on.push(hi_name);
        let PlanError::Cycle { cycle } = plan(&nodes).unwrap_err() else {
            return Err(TestCaseError::fail("expected a cycle"));
        };
        let deps: HashMap<_, _> = nodes.iter().map(|n| (n.name.clone(), &n.depends_on)).collect();
        prop_assert!(!cycle.is_empty());
        prop_assert_eq!(cycle.iter().collect::<HashSet<_>>().len(), cycle.len());
        for k in 0..cycle.len() {
            let next = &cycle[(k + 1) % cycle.len()];
            prop_assert!(deps[&cycle[k]].contains(next), "{} does not depend on {}", cycle[k], next);
        }
    }
}

/// 10,000 migrations, about 3 dependencies each. Run in release to check the
/// budget: `cargo test --release -- --ignored plans_ten_thousand`.
#[test]
#[ignore]
fn plans_ten_thousand_quickly() {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let n = 10_000;
    // Names unrelated to dependency order, so the heap does real work.
    let name = |i: usize| {
        format!(
            "migration_{:016x}",
            (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        )
    };
    let nodes: Vec<PlanNode> = (0..n)
        .map(|i| PlanNode {
            name: name(i),
            priority: (rand() % 5) as i32 * 50,
            depends_on: if i == 0 {
                vec![]
            } else {
                (0..3).map(|_| name(rand() as usize % i)).collect()
            },
            status: "PENDING".into(),
        })
        .collect();
    let start = std::time::Instant::now();
    let order = plan(&nodes).unwrap();
    let elapsed = start.elapsed();
    assert_eq!(order.len(), n);
    eprintln!("planned {n} migrations in {elapsed:?}");
    assert!(elapsed.as_millis() < 100, "took {elapsed:?}");
}
