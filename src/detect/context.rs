//! Rules judged with what the server's pod cache knows around a request (`crate::context`):
//! the pod an exec lands in and the namespace a new pod joins. Without context both stay silent.

use super::budget::Budget;
use super::catalogue::{Catalogue, EscapeAdjacent, UnexpectedCreation};
use super::Signals;
use crate::context::TargetPod;
use crate::subject::{PodScope, PodSubject, Subject, SubjectBody};

pub fn detect(catalogue: &Catalogue, subject: &Subject, out: &mut Signals) {
    if let Some(rules) = &catalogue.context.escape_adjacent {
        escape_adjacent(catalogue, rules, subject, out);
    }
    if let Some(rules) = &catalogue.context.unexpected_creation {
        unexpected_creation(rules, subject, out);
    }
}

/// A finding of interest in a pod that reaches the node is a finding about the node.
fn escape_adjacent(
    catalogue: &Catalogue,
    rules: &EscapeAdjacent,
    subject: &Subject,
    out: &mut Signals,
) {
    let Some(target) = &subject.context.target else {
        return;
    };
    let debug = match &subject.body {
        SubjectBody::Exec(_) | SubjectBody::Attach(_) | SubjectBody::PortForward(_) => false,
        SubjectBody::Pod(pod) => match &pod.scope {
            PodScope::EphemeralOnly(added) if !added.is_empty() => true,
            _ => return,
        },
        _ => return,
    };
    let counts = (debug && rules.debug) || out.any(|s| rules.triggers.contains(&s.rule));
    if !counts {
        return;
    }
    let properties = properties(catalogue, rules, target);
    if properties.is_empty() {
        return;
    }
    out.raise(
        &rules.rule,
        format!(
            "lands in pod {}, which reaches the node: {}",
            target.name,
            properties.join("; ")
        ),
    );
}

/// What the target's own spec raises among the escape-adjacent rules, as `rule (detail)`.
fn properties(catalogue: &Catalogue, rules: &EscapeAdjacent, target: &TargetPod) -> Vec<String> {
    let pod = PodSubject {
        spec: target.spec(),
        labels: Default::default(),
        annotations: Default::default(),
        scope: PodScope::All,
        owned: target.controller.is_some(),
    };
    let mut found = Signals::default();
    let budget = Budget::new(catalogue.exec.limits.max_work);
    super::pod::detect(catalogue, &pod, &budget, &mut found);
    found
        .into_vec()
        .into_iter()
        .filter(|s| rules.pod_rules.contains(&s.rule))
        .map(|s| match &s.container {
            Some(c) => format!("{} (container {c}: {})", s.rule, s.detail),
            None => format!("{} ({})", s.rule, s.detail),
        })
        .collect()
}

/// A pod made by a person where pods are made by controllers, or made with a running workload's
/// token. Its ownerReferences are the requester's to write, so they excuse nothing: they only
/// appear in the message.
fn unexpected_creation(rules: &UnexpectedCreation, subject: &Subject, out: &mut Signals) {
    let SubjectBody::Pod(pod) = &subject.body else {
        return;
    };
    if !subject.creates_pod() {
        return;
    }
    let Some(requester) = &subject.requester else {
        return;
    };
    let user = requester.username.as_str();
    if user.is_empty() || rules.creators.iter().any(|p| p.matches(user)) {
        return;
    }
    let namespace = subject.namespace.as_deref().unwrap_or("");
    let what = if pod.owned {
        "pod naming an owner itself"
    } else {
        "bare pod"
    };
    let usual = |creators: &[String]| {
        if creators.is_empty() {
            String::new()
        } else {
            format!(" (usually: {})", creators.join(", "))
        }
    };
    let context = &subject.context;
    let creators = context
        .namespace
        .as_ref()
        .map(|n| usual(&n.creators))
        .unwrap_or_default();
    out.in_container(None);
    if let (Some((sa_namespace, sa_name)), Some(workload)) =
        (requester.service_account(), &context.requester_workload)
    {
        let account = format!("{sa_namespace}:{sa_name}");
        out.raise(
            &rules.rule,
            format!(
                "{what} in {namespace} made with the token of service account {account}, held \
                 by running {workload}{creators}"
            ),
        );
        return;
    }
    if let Some(summary) = context.namespace.as_ref().filter(|_| requester.is_person()) {
        if summary.pods >= rules.minimum_pods && summary.managed == summary.pods {
            out.raise(
                &rules.rule,
                format!(
                    "{what} in {namespace} made by {user}, where all {} running pods are \
                     controller-managed{creators}",
                    summary.pods
                ),
            );
        }
    }
}
