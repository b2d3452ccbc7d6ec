"""A class at once: N `streamlit run app.py` replicas behind nginx with cookie affinity (see README, "Deploy for a class").

    from deploy import Cluster, start_cluster
    with Cluster(replicas=2) as cluster:   # free loopback ports; nginx and the replicas are this process's children
        print(cluster.url)                 # the address to share
    cluster = start_cluster(2)             # the same, stopped by cluster.stop(); .app_pids, .balancer_pids for load tests
"""
__all__ = ["Cluster", "Replica", "replica_command", "start_cluster"]


def __getattr__(name: str):
    # Lazy, so that `python -m deploy.render` / `deploy.serve` run their module without importing it twice.
    if name in __all__:
        from deploy import cluster

        return getattr(cluster, name)
    raise AttributeError(name)
