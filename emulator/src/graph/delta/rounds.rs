//! The two kinds of delta round: a full listing of the objects present when the round
//! began, and the changes logged between two sequence numbers.

use super::{Collection, Pos, MEMBERS_PER_OBJECT};
use crate::changes::{Change, RemovalReason};
use crate::graph::paging::page_of;
use crate::graph::project::{contact_json, group_json, user_json, Obj, Selection};
use crate::model::ObjectKind;
use crate::tenant::Tenant;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

pub(super) fn full_page(
    tenant: &Tenant,
    coll: Collection,
    sel: &Selection,
    to: u64,
    after: Option<&str>,
    moff: usize,
    size: usize,
) -> (Vec<Obj>, Pos) {
    let mut value = Vec::new();
    match coll {
        Collection::Users => plain_page(&tenant.users, after, size, to, |u| user_json(u, sel)),
        Collection::Contacts => {
            plain_page(&tenant.contacts, after, size, to, |c| contact_json(c, sel))
        }
        Collection::Groups => {
            // A group with more than MEMBERS_PER_OBJECT members appears again, with the next
            // chunk of members (and its properties), as the next object of the page — or of
            // the next page when this one is full: clients merge by id.
            let start = match after {
                Some(a) if moff > 0 => Bound::Included(a),
                Some(a) => Bound::Excluded(a),
                None => Bound::Unbounded,
            };
            // The last group whose members were all listed: a full page resumes after it.
            let mut done: Option<String> = after.filter(|_| moff == 0).map(str::to_owned);
            for (id, g) in tenant.groups.range::<str, _>((start, Bound::Unbounded)) {
                let mut skip = if Some(id.as_str()) == after { moff } else { 0 };
                loop {
                    if value.len() == size {
                        // Resume at this group's next chunk, or after the last group done.
                        let pos = if skip > 0 {
                            Pos::Full {
                                to,
                                after: Some(id.clone()),
                                moff: skip,
                            }
                        } else {
                            Pos::Full {
                                to,
                                after: done,
                                moff: 0,
                            }
                        };
                        return (value, pos);
                    }
                    let mut obj = group_json(g, sel);
                    let mut rest = 0;
                    if sel.wants_members() {
                        let members: Vec<&String> = g.members.iter().skip(skip).collect();
                        let chunk = members.len().min(MEMBERS_PER_OBJECT);
                        rest = members.len() - chunk;
                        if chunk > 0 {
                            let list = members[..chunk]
                                .iter()
                                .map(|m| {
                                    member_ref(
                                        tenant.kind_of(m).unwrap_or(ObjectKind::User),
                                        m,
                                        false,
                                    )
                                })
                                .collect();
                            obj.0
                                .push(("members@delta", serde_json::Value::Array(list)));
                        }
                        skip += chunk;
                    }
                    value.push(obj);
                    if rest == 0 {
                        break;
                    }
                }
                done = Some(id.clone());
            }
            (value, Pos::Done { seq: to })
        }
    }
}

/// A page of a collection whose objects each fit on one page (users, contacts).
fn plain_page<V>(
    map: &std::collections::BTreeMap<String, V>,
    after: Option<&str>,
    size: usize,
    to: u64,
    json: impl Fn(&V) -> Obj,
) -> (Vec<Obj>, Pos) {
    let (items, next) = page_of(map, after, size, |_| true);
    let value = items.into_iter().map(json).collect();
    let pos = match next {
        Some(a) => Pos::Full {
            to,
            after: Some(a),
            moff: 0,
        },
        None => Pos::Done { seq: to },
    };
    (value, pos)
}

pub(super) fn changes_page(
    tenant: &Tenant,
    coll: Collection,
    sel: &Selection,
    from: u64,
    to: u64,
    off: usize,
    size: usize,
) -> (Vec<Obj>, Pos) {
    let changed = changed_objects(tenant, coll, from, to);
    let value = changed
        .iter()
        .skip(off)
        .take(size)
        .filter_map(|(id, removed)| {
            let current = match coll {
                Collection::Users => tenant.users.get(id).map(|u| user_json(u, sel)),
                Collection::Contacts => tenant.contacts.get(id).map(|c| contact_json(c, sel)),
                Collection::Groups => tenant.groups.get(id).map(|g| {
                    let mut obj = group_json(g, sel);
                    if sel.wants_members() {
                        let deltas = member_changes(tenant, id, from, to);
                        if !deltas.is_empty() {
                            obj.0
                                .push(("members@delta", serde_json::Value::Array(deltas)));
                        }
                    }
                    obj
                }),
            };
            match (current, removed) {
                (Some(obj), _) => Some(obj),
                (None, Some(reason)) => Some(Obj(vec![
                    ("id", json!(id)),
                    ("@removed", json!({"reason": reason.as_str()})),
                ])),
                // Deleted after this round began: the next round reports it.
                (None, None) => None,
            }
        })
        .collect();
    let pos = if off + size < changed.len() {
        Pos::Changes {
            from,
            to,
            off: off + size,
        }
    } else {
        Pos::Done { seq: to }
    };
    (value, pos)
}

/// The objects of a collection touched in `(from, to]`, in order of first change, with the
/// removal reason when the last word on them was a removal.
fn changed_objects(
    tenant: &Tenant,
    coll: Collection,
    from: u64,
    to: u64,
) -> Vec<(String, Option<RemovalReason>)> {
    let wanted = match coll {
        Collection::Users => ObjectKind::User,
        Collection::Groups => ObjectKind::Group,
        Collection::Contacts => ObjectKind::Contact,
    };
    let mut order: Vec<String> = Vec::new();
    let mut removed: HashMap<String, Option<RemovalReason>> = HashMap::new();
    let mut touch = |id: &str, reason: Option<Option<RemovalReason>>| {
        if !removed.contains_key(id) {
            order.push(id.to_string());
            removed.insert(id.to_string(), None);
        }
        if let (Some(r), Some(slot)) = (reason, removed.get_mut(id)) {
            *slot = r;
        }
    };
    for change in tenant.changes.between(from, to) {
        match change {
            Change::Upserted { kind, id } if *kind == wanted => touch(id, Some(None)),
            Change::Removed { kind, id, reason } if *kind == wanted => {
                touch(id, Some(Some(*reason)))
            }
            Change::Membership { group, .. } if wanted == ObjectKind::Group => touch(group, None),
            _ => {}
        }
    }
    order
        .into_iter()
        .map(|id| {
            let r = removed.get(&id).copied().flatten();
            (id, r)
        })
        .collect()
}

/// `members@delta` for one group over `(from, to]`: the net change per member.
fn member_changes(tenant: &Tenant, group_id: &str, from: u64, to: u64) -> Vec<serde_json::Value> {
    let mut net: BTreeMap<&str, (ObjectKind, bool)> = BTreeMap::new();
    for change in tenant.changes.between(from, to) {
        if let Change::Membership {
            group,
            member,
            member_kind,
            added,
        } = change
        {
            if group == group_id {
                net.insert(member, (*member_kind, *added));
            }
        }
    }
    net.into_iter()
        .map(|(id, (kind, added))| member_ref(kind, id, !added))
        .collect()
}

fn member_ref(kind: ObjectKind, id: &str, removed: bool) -> serde_json::Value {
    if removed {
        json!({"@odata.type": kind.odata_type(), "id": id, "@removed": {"reason": "deleted"}})
    } else {
        json!({"@odata.type": kind.odata_type(), "id": id})
    }
}
