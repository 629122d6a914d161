//! The webhook's view of the cluster, all optional and all outside the admission path's
//! critical section: a pod cache that gives requests their context, a Kubernetes Event recorder,
//! the containment labeller, and the clients `reconguard scan` uses. Every failure here degrades
//! to judging a request alone; none turns into an admission error.

pub mod contain;
pub mod events;
pub mod pods;
pub mod scan;

use anyhow::Context as _;

/// A client from `kubeconfig` when given, else from `KUBECONFIG` or `~/.kube/config`, else the
/// pod's in-cluster service account.
pub async fn client(kubeconfig: Option<&std::path::Path>) -> anyhow::Result<kube::Client> {
    let config = match kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &Default::default())
                .await
                .with_context(|| format!("using {}", path.display()))?
        }
        None => kube::Config::infer()
            .await
            .context("no Kubernetes configuration (KUBECONFIG, ~/.kube/config or in-cluster)")?,
    };
    kube::Client::try_from(config).context("building the Kubernetes client")
}
