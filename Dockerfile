# The sms-tracking DAGs and plugin on the official Airflow image (Python 3.11, as the pins were resolved).
FROM apache/airflow:3.3.2-python3.11

ENV GX_ANALYTICS_ENABLED=false

COPY requirements.txt /requirements.txt
# Pinning apache-airflow stops pip from up- or downgrading the image's Airflow.
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /requirements.txt

COPY --chown=airflow:root dags/ /opt/airflow/dags/
COPY --chown=airflow:root plugins/ /opt/airflow/plugins/
COPY --chown=airflow:root include/ /opt/airflow/include/
