daemon off
