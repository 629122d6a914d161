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
    client_in(kubeconfig, None).await
}

/// A client for `context` of the kubeconfig (the file given, else KUBECONFIG or
/// ~/.kube/config), as `kubectl --context` picks one; without a context, the current one, or the
/// in-cluster service account when there is no kubeconfig.
pub async fn client_in(
    kubeconfig: Option<&std::path::Path>,
    context: Option<&str>,
) -> anyhow::Result<kube::Client> {
    let options = kube::config::KubeConfigOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    let config = match (kubeconfig, context) {
        (Some(path), _) => {
            let file = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .with_context(|| format!("using {}", path.display()))?
        }
        (None, Some(name)) => kube::Config::from_kubeconfig(&options)
            .await
            .with_context(|| format!("using context {name} of the kubeconfig"))?,
        (None, None) => kube::Config::infer()
            .await
            .context("no Kubernetes configuration (KUBECONFIG, ~/.kube/config or in-cluster)")?,
    };
    kube::Client::try_from(config).context("building the Kubernetes client")
}
