"""The DAG definitions, packaged so a deployment gets them from ``pip install`` (docs/deployment.md).

Each module builds its DAGs in a function and builds nothing when imported; a DAG file calls them (the
repository's ``dags/`` files), or imports :mod:`sms_tracking.dags.all`, which builds every one.
"""
