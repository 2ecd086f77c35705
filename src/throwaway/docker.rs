//! The Docker backend (cargo feature `docker`): a PostgreSQL container of a chosen image, so
//! the rehearsal can run on the same major version as production.

use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ImageExt};
use testcontainers_modules::postgres::Postgres;

use super::guard::{self, Undo};
use crate::error::{Error, Result};
use crate::pg::conn::{ConnSpec, Endpoint};

pub struct DockerServer {
    container: Option<ContainerAsync<Postgres>>,
    pub admin: ConnSpec,
    guard_id: Option<u64>,
}

/// Splits `postgres:15-alpine` into name and tag (`postgres`, `latest` when no tag is given).
pub fn split_image(image: &str) -> (String, String) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.to_string(), tag.to_string()),
        _ => (image.to_string(), "latest".to_string()),
    }
}

impl DockerServer {
    pub async fn start(image: &str) -> Result<Self> {
        let (name, tag) = split_image(image);
        let password = format!("{:032x}", rand::random::<u128>());
        let container = Postgres::default()
            .with_password(&password)
            .with_name(name)
            .with_tag(tag)
            .start()
            .await
            .map_err(|e| {
                Error::Docker(format!(
                    "cannot start a container from {image}: {e}. Check that a Docker engine \
                     answers (`docker info`) and that the image exists, or use the default \
                     local throwaway."
                ))
            })?;
        let port = container
            .get_host_port_ipv4(5432)
            .await
            .map_err(|e| Error::Docker(e.to_string()))?;
        let guard_id = guard::register(Undo::Container {
            id: container.id().to_string(),
        });
        Ok(DockerServer {
            container: Some(container),
            admin: ConnSpec {
                endpoint: Endpoint::Tcp("127.0.0.1".into()),
                port,
                user: "postgres".into(),
                password: Some(password),
                dbname: "postgres".into(),
                params: Default::default(),
            },
            guard_id: Some(guard_id),
        })
    }

    pub fn keep(mut self) -> String {
        if let Some(id) = self.guard_id.take() {
            guard::take(id);
        }
        let id = self
            .container
            .as_ref()
            .map(|c| c.id().to_string())
            .unwrap_or_default();
        // Forgetting the handle is how testcontainers is told not to remove it.
        std::mem::forget(self.container.take());
        format!("remove it with: docker rm -f {id}")
    }
}

impl Drop for DockerServer {
    fn drop(&mut self) {
        if let Some(id) = self.guard_id.take() {
            guard::take(id);
        }
        if let Some(c) = self.container.take() {
            // testcontainers removes the container in its own Drop, which needs a runtime.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(async move { c.rm().await.ok() });
                }
            })
            .join();
        }
    }
}
