//! A container user namespace of its own (`--userns keep-id`): the spec lists a `user`
//! namespace without a path and with uid/gid mappings, in ids of the held namespace. The
//! runtime (root in the held namespace) creates it nested there, before the PID namespace,
//! and points the spec at it (`/proc/self/fd/N`, inherited by the container's PID 1). PID 1
//! enters it after the filesystem is set up (mounts, pivot_root and hostname need the held
//! namespace's privileges). The engine gives such a container layers copied for its
//! mapping (`shift-layer`): overlayfs cannot be id-mapped, and rootless cannot id-map the
//! host file system the layers live on.

use ncx_core::spec::Spec;
use ncx_core::userns::{self, IdMap};
use std::os::fd::RawFd;

/// Create the namespace the spec asks for; the fd is the caller's to close after forking.
pub fn prepare(spec: &mut Spec) -> Result<Option<RawFd>, String> {
    let Some(linux) = spec.linux.as_mut() else { return Ok(None) };
    let Some(ns) = linux.namespaces.iter_mut().find(|n| n.kind == "user" && n.path.is_empty()) else { return Ok(None) };
    if linux.uid_mappings.is_empty() || linux.gid_mappings.is_empty() {
        return Err("a user namespace of the container's own needs uidMappings and gidMappings".into());
    }
    let maps = |m: &[ncx_core::spec::IdMapping]| m.iter().map(|x| IdMap { container: x.container_id, host: x.host_id, size: x.size }).collect::<Vec<_>>();
    let fd = userns::create_nested(&maps(&linux.uid_mappings), &maps(&linux.gid_mappings))
        .map_err(|e| format!("cannot create the container's user namespace: {e}"))?;
    ns.path = format!("/proc/self/fd/{fd}");
    Ok(Some(fd))
}

/// The path of the container's own user namespace, once `prepare` made it.
pub fn path(spec: &Spec) -> Option<&str> {
    spec.linux.as_ref()?.namespaces.iter().find(|n| n.kind == "user" && !n.path.is_empty()).map(|n| n.path.as_str())
}
