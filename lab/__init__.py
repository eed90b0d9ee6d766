"""The lab: real MariaDB/MySQL and PostgreSQL/Citus servers on loopback, started by clustertop."""
