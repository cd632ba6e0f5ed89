using System.Collections.Frozen;

namespace Portico.Config.Directives;

/// <summary>
/// nginx directives we recognise but do not implement. They are rejected with
/// <c>"gzip" directive is not supported by portico</c> rather than reported as unknown (the
/// config is valid nginx) or, worse, silently ignored (ARCHITECTURE.md, principle 3).
/// </summary>
internal static class UnsupportedDirectives
{
    private static readonly FrozenSet<string> s_names = new[]
    {
        // more of nginx 1.22's modules
        "proxy_bind", "proxy_busy_buffers_size", "proxy_cache_background_update", "proxy_cache_bypass",
        "proxy_cache_convert_head", "proxy_cache_lock", "proxy_cache_lock_age", "proxy_cache_lock_timeout",
        "proxy_cache_max_range_offset", "proxy_cache_methods", "proxy_cache_min_uses", "proxy_cache_revalidate",
        "proxy_cache_use_stale", "proxy_cache_key", "proxy_force_ranges", "proxy_ignore_client_abort",
        "proxy_limit_rate", "proxy_method", "proxy_next_upstream_timeout", "proxy_next_upstream_tries",
        "proxy_no_cache", "proxy_send_lowat", "proxy_socket_keepalive", "proxy_ssl_certificate",
        "proxy_ssl_certificate_key", "proxy_ssl_ciphers", "proxy_ssl_name", "proxy_ssl_protocols",
        "proxy_ssl_server_name", "proxy_ssl_session_reuse", "proxy_ssl_trusted_certificate",
        "proxy_ssl_verify_depth", "proxy_store", "proxy_store_access", "proxy_temp_file_write_size",
        "ssl_conf_command", "ssl_crl", "ssl_early_data", "ssl_ocsp", "ssl_ocsp_cache", "ssl_ocsp_responder",
        "ssl_password_file", "ssl_reject_handshake", "ssl_session_ticket_key", "ssl_stapling_file",
        "ssl_stapling_responder", "ssl_verify_depth", "add_before_body", "add_after_body", "ancient_browser",
        "modern_browser", "valid_referers", "referer_hash_bucket_size", "referer_hash_max_size",
        "map_hash_bucket_size", "map_hash_max_size", "geoip_country", "geoip_city", "slice", "zone",
        "random", "send_lowat", "connection_pool_size", "request_pool_size",
        "client_body_in_file_only", "uwsgi_read_timeout", "uwsgi_buffers", "scgi_read_timeout",
        "grpc_set_header", "grpc_read_timeout", "memcached_read_timeout", "internal_redirect",
        "worker_rlimit_core", "http3", "quic_retry",
        // core / events
        "env", "worker_cpu_affinity", "worker_priority", "worker_shutdown_timeout",
        "working_directory", "lock_file", "thread_pool", "timer_resolution", "debug_points",
        "debug_connection", "accept_mutex", "accept_mutex_delay", "worker_aio_requests", "ssl_engine",
        "google_perftools_profiles", "stream", "mail",
        // rewrite
        "rewrite", "if", "break", "rewrite_log", "uninitialized_variable_warn",
        // gzip (on the fly and precompressed are Portico's; decompression is not)
        "gunzip", "gunzip_buffers",
        // proxy
        "proxy_pass", "proxy_set_header", "proxy_redirect", "proxy_buffering", "proxy_buffers",
        "proxy_buffer_size", "proxy_read_timeout", "proxy_connect_timeout", "proxy_send_timeout",
        "proxy_http_version", "proxy_cache", "proxy_cache_path", "proxy_cache_valid", "proxy_hide_header",
        "proxy_pass_header", "proxy_intercept_errors", "proxy_next_upstream", "proxy_ssl_verify",
        "proxy_request_buffering", "proxy_max_temp_file_size", "proxy_temp_path", "proxy_cookie_path",
        "proxy_cookie_domain", "proxy_set_body", "proxy_pass_request_headers", "proxy_pass_request_body",
        "proxy_ignore_headers", "proxy_headers_hash_max_size", "proxy_headers_hash_bucket_size",
        // ssl: the directive "ssl on" (and listen's ssl parameter, refused at load); the common ssl_* are SslDirectives
        "ssl",
        "http2", "http2_push", "http2_max_concurrent_streams",
        // limits and access
        "limit_req", "limit_req_zone", "limit_req_status", "limit_req_log_level", "limit_conn",
        "limit_conn_zone", "limit_conn_status", "limit_conn_log_level", "limit_rate", "limit_rate_after",
        "limit_except", "satisfy", "auth_basic", "auth_basic_user_file", "auth_request",
        // variables and content
        "map", "geo", "split_clients", "source_charset", "override_charset", "charset_map",
        "sub_filter", "sub_filter_once", "sub_filter_types", "ssi", "addition_types", "add_trailer",
        "real_ip_header", "set_real_ip_from", "real_ip_recursive", "resolver", "resolver_timeout",
        "uwsgi_pass", "uwsgi_param", "scgi_pass", "scgi_param", "grpc_pass", "memcached_pass",
        "mirror", "stub_status", "random_index", "empty_gif", "secure_link", "userid", "dav_methods",
        "flv", "mp4", "image_filter", "xslt_stylesheet", "perl", "js_import", "js_content",
        // files and caching
        "open_file_cache", "open_file_cache_valid", "open_file_cache_min_uses", "open_file_cache_errors",
        "aio", "directio", "output_buffers", "postpone_output", "sendfile_max_chunk", "read_ahead",
        "disable_symlinks", "max_ranges", "chunked_transfer_encoding", "absolute_redirect",
        "port_in_redirect", "server_name_in_redirect", "msie_padding", "msie_refresh", "lingering_close",
        "lingering_time", "lingering_timeout", "reset_timedout_connection", "resolver", "underscores_in_headers",
        "ignore_invalid_headers", "client_body_in_file_only", "client_body_in_single_buffer",
        "keepalive_disable", "log_subrequest", "open_log_file_cache", "subrequest_output_buffer_size",
        "ssi_types", "etag_types", "fastcgi_bind", "fastcgi_limit_rate",
        "fastcgi_no_cache", "fastcgi_cache_bypass",
        "fastcgi_cache", "fastcgi_cache_path", "fastcgi_cache_key",
        "fastcgi_cache_valid", "fastcgi_store",
    }.ToFrozenSet(StringComparer.Ordinal);

    public static bool Contains(string name) => s_names.Contains(name);

    public static IEnumerable<string> Names => s_names.Order(StringComparer.Ordinal);
}
