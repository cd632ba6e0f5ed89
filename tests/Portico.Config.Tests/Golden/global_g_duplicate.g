daemon off;
