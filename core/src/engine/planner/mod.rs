//! Execution order of pending migrations.
//!
//! The order is: dependencies first; among migrations whose dependencies are all
//! satisfied, the **lowest `priority` number runs first** (priority 10 before 100),
//! ties broken by name. That is Kahn's algorithm with a min-heap keyed
//! `(priority, name)`: O((V + E) log V), deterministic whatever the input order.
//!
//! Only PENDING, FAILED and ROLLED_BACK migrations are planned; COMPLETED ones
//! satisfy dependencies without being planned. A dependency that is RUNNING makes
//! planning fail: something else is executing, and the caller should wait.

mod error;
#[cfg(test)]
mod tests;

pub use error::PlanError;

use crate::engine::state::MigrationStatus;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanNode {
    pub name: String,
    pub priority: i32,
    pub depends_on: Vec<String>,
    /// A `knowledge_migrations.status` value.
    pub status: String,
}

fn index_by_name(nodes: &[PlanNode]) -> Result<HashMap<&str, usize>, PlanError> {
    let mut index = HashMap::with_capacity(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        if index.insert(n.name.as_str(), i).is_some() {
            return Err(PlanError::DuplicateName {
                name: n.name.clone(),
            });
        }
    }
    Ok(index)
}

/// Node indices sorted by name, so that when several errors exist the same one is
/// reported whatever order the rows came in.
fn by_name(nodes: &[PlanNode]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    order.sort_unstable_by(|&a, &b| nodes[a].name.cmp(&nodes[b].name));
    order
}

/// Returns indices into `nodes`, in execution order.
pub fn plan(nodes: &[PlanNode]) -> Result<Vec<usize>, PlanError> {
    let index = index_by_name(nodes)?;
    let mut statuses = Vec::with_capacity(nodes.len());
    for n in nodes {
        let status = MigrationStatus::parse(&n.status).ok_or_else(|| PlanError::UnknownStatus {
            migration: n.name.clone(),
            status: n.status.clone(),
        })?;
        statuses.push(status);
    }
    let members: Vec<bool> = statuses.iter().map(|s| s.is_runnable()).collect();
    let mut deps_of = vec![Vec::new(); nodes.len()];
    for i in by_name(nodes).into_iter().filter(|&i| members[i]) {
        for dep in &nodes[i].depends_on {
            let unknown = || PlanError::UnknownDependency {
                migration: nodes[i].name.clone(),
                dependency: dep.clone(),
            };
            let j = *index.get(dep.as_str()).ok_or_else(unknown)?;
            match statuses[j] {
                MigrationStatus::Completed => {}
                MigrationStatus::Running => {
                    return Err(PlanError::DependencyRunning {
                        migration: nodes[i].name.clone(),
                        dependency: dep.clone(),
                    })
                }
                _ => deps_of[i].push(j),
            }
        }
    }
    ordered(nodes, &members, deps_of)
}

/// Every migration that transitively depends on `name` (excluding `name`), in
/// reverse execution order: the order in which a cascade rollback must undo them.
/// Statuses are not looked at; the caller filters what it needs to roll back.
/// Dependencies on unknown names are ignored here: they cannot depend on `name`.
pub fn dependents_closure(name: &str, nodes: &[PlanNode]) -> Result<Vec<String>, PlanError> {
    let index = index_by_name(nodes)?;
    let root = *index.get(name).ok_or_else(|| PlanError::UnknownMigration {
        name: name.to_string(),
    })?;
    let mut dependents = vec![Vec::new(); nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        for dep in &n.depends_on {
            if let Some(&j) = index.get(dep.as_str()) {
                dependents[j].push(i);
            }
        }
    }
    let mut members = vec![false; nodes.len()];
    let mut stack = vec![root];
    while let Some(j) = stack.pop() {
        for &i in &dependents[j] {
            // Reaching the root again means a cycle through it; keeping it as a
            // member lets `ordered` report that cycle.
            if !members[i] {
                members[i] = true;
                stack.push(i);
            }
        }
    }
    let mut deps_of = vec![Vec::new(); nodes.len()];
    for (i, n) in nodes.iter().enumerate().filter(|(i, _)| members[*i]) {
        deps_of[i] = n
            .depends_on
            .iter()
            .filter_map(|d| index.get(d.as_str()).copied())
            .filter(|&j| members[j])
            .collect();
    }
    let order = ordered(nodes, &members, deps_of)?;
    Ok(order
        .into_iter()
        .rev()
        .map(|i| nodes[i].name.clone())
        .collect())
}

/// Kahn's algorithm over the member nodes; `deps_of[i]` lists member dependencies.
fn ordered(
    nodes: &[PlanNode],
    members: &[bool],
    mut deps_of: Vec<Vec<usize>>,
) -> Result<Vec<usize>, PlanError> {
    let mut indegree = vec![0usize; nodes.len()];
    let mut dependents = vec![Vec::new(); nodes.len()];
    for (i, deps) in deps_of.iter_mut().enumerate() {
        deps.sort_unstable();
        deps.dedup(); // `dependsOn: [a, a]` is one edge, not two
        indegree[i] = deps.len();
        for &j in deps.iter() {
            dependents[j].push(i);
        }
    }
    let key = |i: usize| Reverse((nodes[i].priority, nodes[i].name.as_str(), i));
    let mut ready: BinaryHeap<_> = (0..nodes.len())
        .filter(|&i| members[i] && indegree[i] == 0)
        .map(key)
        .collect();
    let member_count = members.iter().filter(|m| **m).count();
    let mut order = Vec::with_capacity(member_count);
    while let Some(Reverse((_, _, j))) = ready.pop() {
        order.push(j);
        for &i in &dependents[j] {
            indegree[i] -= 1;
            if indegree[i] == 0 {
                ready.push(key(i));
            }
        }
    }
    if order.len() == member_count {
        return Ok(order);
    }
    Err(PlanError::Cycle {
        cycle: find_cycle(nodes, members, &deps_of, &order),
    })
}

/// After Kahn stalls, every unplaced member still has an unplaced dependency, so
/// following such dependencies from any unplaced node must revisit one: the loop
/// found is a real cycle. Smallest names are chosen at each turn and the cycle is
/// rotated to start at its smallest name, so the report is deterministic.
fn find_cycle(
    nodes: &[PlanNode],
    members: &[bool],
    deps_of: &[Vec<usize>],
    placed: &[usize],
) -> Vec<String> {
    let mut unplaced = members.to_vec();
    for &i in placed {
        unplaced[i] = false;
    }
    let name = |i: usize| nodes[i].name.as_str();
    let start = (0..nodes.len())
        .filter(|&i| unplaced[i])
        .min_by_key(|&i| name(i));
    let mut path: Vec<usize> = Vec::new();
    let mut position: HashMap<usize, usize> = HashMap::new();
    let mut current = start.expect("Kahn stalled, so some member is unplaced");
    while !position.contains_key(&current) {
        position.insert(current, path.len());
        path.push(current);
        current = deps_of[current]
            .iter()
            .copied()
            .filter(|&j| unplaced[j])
            .min_by_key(|&j| name(j))
            .expect("an unplaced node has an unplaced dependency");
    }
    let mut cycle = path.split_off(position[&current]);
    let smallest = (0..cycle.len())
        .min_by_key(|&k| name(cycle[k]))
        .unwrap_or(0);
    cycle.rotate_left(smallest);
    cycle.into_iter().map(|i| nodes[i].name.clone()).collect()
}
