# The sms-tracking package on the official Airflow image (Python 3.11, as the pins were resolved).
# Installed as any Airflow environment installs it: the wheel, with the lock as constraints, and a thin DAG folder.

# Stage 1: the wheel, built from the checkout (pip fetches the build backend, hatchling, in an isolated build).
FROM apache/airflow:3.3.2-python3.11 AS wheel
COPY --chown=airflow:root . /home/airflow/src/
RUN pip wheel --no-deps --no-cache-dir -w /home/airflow/dist /home/airflow/src

# Stage 2: the image. The package brings the plugin (entry point), the DAG definitions, SQL, seeds and UI files.
FROM apache/airflow:3.3.2-python3.11

ENV GX_ANALYTICS_ENABLED=false

COPY requirements.txt /requirements.txt
COPY --from=wheel /home/airflow/dist/ /tmp/dist/
# Pinning apache-airflow stops pip from up- or downgrading the image's Airflow; the lock pins every dependency.
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" /tmp/dist/sms_tracking-*.whl -c /requirements.txt

# The thin DAG files: each imports its DAGs from the installed sms_tracking.dags.
COPY --chown=airflow:root dags/ /opt/airflow/dags/
