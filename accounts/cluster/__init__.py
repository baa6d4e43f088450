"""Redis Cluster: the django-redis client class and the redis-py clients this app uses on one, and
waiting out a failover. See docs/deployment.md (Redis Cluster)."""
