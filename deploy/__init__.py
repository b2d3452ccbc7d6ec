"""A class at once: N `streamlit run app.py` replicas behind nginx with cookie affinity (see README, "Deploy for a class").

    from deploy import Cluster
    with Cluster(replicas=2) as cluster:   # free loopback ports; nginx and the replicas are this process's children
        print(cluster.url)                 # the address to share
    cluster = start_cluster(2)             # the same, stopped by cluster.stop(); .app_pids, .balancer_pids for load tests
"""
from deploy.cluster import Cluster, Replica, replica_command, start_cluster

__all__ = ["Cluster", "Replica", "replica_command", "start_cluster"]
