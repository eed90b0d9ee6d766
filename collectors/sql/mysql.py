"""Every statement the collectors send to MySQL/MariaDB."""

VERSION = "SELECT VERSION(), @@max_connections, @@read_only"
GLOBAL_STATUS = (
    "SHOW GLOBAL STATUS WHERE Variable_name IN ("
    "'Uptime', 'Threads_connected', 'Threads_running',"
    " 'Innodb_buffer_pool_read_requests', 'Innodb_buffer_pool_reads')"
)
# MariaDB (and MySQL before 8.0.22) answer only to the old name; both return the same shape.
REPLICA_STATUS_MARIADB = "SHOW ALL SLAVES STATUS"
REPLICA_STATUS_MYSQL = "SHOW REPLICA STATUS"
