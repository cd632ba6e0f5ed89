daemon off; worker_processes 2;
