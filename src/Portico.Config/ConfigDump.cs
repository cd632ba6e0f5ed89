using System.Globalization;
using System.Text;
using Portico.Config.Directives;
using Portico.Config.Model;

namespace Portico.Config;

/// <summary>
/// A stable, readable text form of the model, for golden tests and debugging. Settings are
/// shown as differences: the http level against nginx's defaults, each server against http, each
/// location against its parent, so a dump shows what the file changed and where it took effect.
/// </summary>
public static class ConfigDump
{
    public static string Dump(PorticoConfig config) => new Writer(config.FilePath).Write(config);

    /// <summary>Holds the main file's path so locations in it print as a bare line number.</summary>
    private sealed class Writer(string mainFile)
    {
        public string Write(PorticoConfig config)
        {
            var sb = new StringBuilder();
            sb.Append("file ").AppendLine(config.FilePath);
            sb.Append("prefix ").AppendLine(config.Prefix);
            sb.Append("pid ").AppendLine(config.PidFile ?? "(none)");
            if (config.WorkerProcesses is { } workers)
            {
                sb.Append("worker_processes ").AppendLine(workers.ToString(CultureInfo.InvariantCulture));
            }
            foreach (ErrorLogConfig log in config.ErrorLogs)
            {
                sb.Append("error_log ").Append(log.File).Append(' ').AppendLine(Level(log.Level));
            }

            if (config.Http is not { } http)
            {
                sb.AppendLine("http (none)");
                return sb.ToString();
            }

            sb.AppendLine("http");
            // "combined" is predefined and the same in every dump.
            foreach (LogFormatConfig format in http.LogFormats.Values.Where(f => f.Name != "combined").OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                sb.Append("  log_format ").Append(format.Name).Append(" escape=").Append(Lower(format.Escape))
                    .Append(' ').AppendLine(Quote(format.Format.Text));
            }

            foreach (UpstreamConfig u in http.Upstreams.Values.OrderBy(u => u.Name, StringComparer.Ordinal))
            {
                DumpUpstream(sb, u);
            }

            LocationSettings defaults = ModelBuilder.Defaults(config.Prefix, default);
            DumpSettings(sb, "  ", http.Settings, defaults);
            foreach (ServerConfig server in http.Servers)
            {
                DumpServer(sb, server, http.Settings);
            }

            return sb.ToString();
        }

        private void DumpUpstream(StringBuilder sb, UpstreamConfig u)
        {
            sb.Append("  upstream ").Append(u.Name).Append(At(u.Where)).Append(' ').Append(u.Balancing switch
            {
                UpstreamBalancing.LeastConn => "least_conn",
                UpstreamBalancing.IpHash => "ip_hash",
                UpstreamBalancing.Hash => "hash",
                _ => "round_robin",
            });
            if (u.HashKey is not null)
            {
                sb.Append(" key=").Append(Quote(u.HashKey.Text)).Append(u.HashConsistent ? " consistent" : "");
            }

            sb.Append(" keepalive=").Append(u.Keepalive)
                .Append(" keepalive_timeout=").Append(Time(u.KeepaliveTimeout))
                .Append(" keepalive_requests=").Append(u.KeepaliveRequests).AppendLine();
            foreach (UpstreamServerConfig s in u.Servers)
            {
                sb.Append("    server ").Append(s.Address).Append(" weight=").Append(s.Weight).Append(" max_fails=").Append(s.MaxFails)
                    .Append(" fail_timeout=").Append(Time(s.FailTimeout)).Append(s.Backup ? " backup" : "").Append(s.Down ? " down" : "")
                    .Append(At(s.Where)).AppendLine();
            }
        }

        private void DumpServer(StringBuilder sb, ServerConfig server, LocationSettings parent)
        {
            sb.Append("  server").Append(At(server.Where)).AppendLine();
            foreach (ListenConfig l in server.Listens)
            {
                sb.Append("    listen ").Append(l.EndpointText);
                if (l.DefaultServer) sb.Append(" default_server");
                if (l.Bind) sb.Append(" bind");
                if (l.ReusePort) sb.Append(" reuseport");
                if (l.Backlog != 511) sb.Append(" backlog=").Append(l.Backlog);
                if (l.Ipv6Only is bool v6) sb.Append(" ipv6only=").Append(v6 ? "on" : "off");
                if (l.Ssl) sb.Append(" ssl");
                if (l.Http2) sb.Append(" http2");
                sb.AppendLine();
            }

            foreach (ServerNameConfig n in server.Names)
            {
                sb.Append("    server_name ").Append(Lower(n.Kind)).Append(' ').AppendLine(Quote(n.Text));
            }

            DumpRewrites(sb, "    ", server.Rewrites);
            DumpSettings(sb, "    ", server.Settings, parent);
            foreach (LocationConfig location in server.Locations)
            {
                DumpLocation(sb, "    ", location, server.Settings);
            }
        }

        private void DumpLocation(StringBuilder sb, string indent, LocationConfig location, LocationSettings parent)
        {
            string modifier = location.Match switch
            {
                LocationMatch.Exact => "= ",
                LocationMatch.PrefixNoRegex => "^~ ",
                LocationMatch.Regex => "~ ",
                LocationMatch.RegexCaseInsensitive => "~* ",
                _ => "",
            };
            sb.Append(indent).Append("location ").Append(modifier).Append(location.Pattern).Append(At(location.Where)).AppendLine();
            string inner = indent + "  ";
            DumpRewrites(sb, inner, location.Rewrites);
            DumpSettings(sb, inner, location.Settings, parent);
            foreach (LocationConfig nested in location.Locations)
            {
                DumpLocation(sb, inner, nested, location.Settings);
            }
        }

        private static void DumpRewrites(StringBuilder sb, string indent, IReadOnlyList<RewriteInstruction> rewrites)
        {
            foreach (RewriteInstruction r in rewrites)
            {
                if (r is ReturnInstruction ret)
                {
                    sb.Append(indent).Append("return ").Append(ret.Code);
                    if (ret.Text is not null)
                    {
                        sb.Append(' ').Append(Quote(ret.Text.Text));
                    }

                    sb.AppendLine();
                }
                else if (r is SetInstruction set)
                {
                    sb.Append(indent).Append("set $").Append(set.Name).Append(' ').Append(Quote(set.Value.Text)).AppendLine();
                }
            }
        }

        private static void DumpSettings(StringBuilder sb, string indent, LocationSettings s, LocationSettings parent)
        {
            Dictionary<string, string> before = Describe(parent).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            foreach ((string key, string value) in Describe(s))
            {
                if (!before.TryGetValue(key, out string? old) || old != value)
                {
                    sb.Append(indent).Append(key).Append(' ').AppendLine(value);
                }
            }
        }

        /// <summary>" @LINE" in the main file, " @FILE:LINE" in an included one.</summary>
        private string At(SourceLocation where) =>
            where.File == mainFile ? $" @{where.Line}" : $" @{where.File}:{where.Line}";
    }

    /// <summary>Every setting as one line of text, in a fixed order.</summary>
    internal static IEnumerable<KeyValuePair<string, string>> Describe(LocationSettings s)
    {
        yield return new("root", s.Root.Text);
        yield return new("alias", s.Alias?.Text ?? "(none)");
        yield return new("index", string.Join(' ', s.Index.Select(i => i.Text)));
        yield return new("try_files", s.TryFiles is null ? "(none)" : string.Join(' ', s.TryFiles.Files.Select(f => f.Text).Append(s.TryFiles.Fallback.Text)));
        yield return new("internal", OnOff(s.Internal));
        yield return new("autoindex", OnOff(s.Autoindex));
        yield return new("autoindex_format", Lower(s.AutoindexFormat));
        yield return new("autoindex_exact_size", OnOff(s.AutoindexExactSize));
        yield return new("autoindex_localtime", OnOff(s.AutoindexLocaltime));
        yield return new("default_type", s.DefaultType);
        yield return new("types", string.Join(' ', s.Types.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}")));
        yield return new("etag", OnOff(s.Etag));
        yield return new("if_modified_since", Lower(s.IfModifiedSince));
        yield return new("server_tokens", Lower(s.ServerTokens));
        yield return new("merge_slashes", OnOff(s.MergeSlashes));
        yield return new("client_max_body_size", Num(s.ClientMaxBodySize));
        yield return new("client_body_buffer_size", Num(s.ClientBodyBufferSize));
        yield return new("client_header_buffer_size", Num(s.ClientHeaderBufferSize));
        yield return new("large_client_header_buffers", $"{s.LargeClientHeaderBuffersCount} {Num(s.LargeClientHeaderBufferSize)}");
        yield return new("keepalive_timeout", Time(s.KeepaliveTimeout) + (s.KeepaliveHeaderTimeout is { } h ? " " + Time(h) : ""));
        yield return new("keepalive_requests", Num(s.KeepaliveRequests));
        yield return new("keepalive_time", Time(s.KeepaliveTime));
        yield return new("send_timeout", Time(s.SendTimeout));
        yield return new("client_header_timeout", Time(s.ClientHeaderTimeout));
        yield return new("client_body_timeout", Time(s.ClientBodyTimeout));
        yield return new("sendfile", OnOff(s.Sendfile));
        yield return new("tcp_nopush", OnOff(s.TcpNopush));
        yield return new("tcp_nodelay", OnOff(s.TcpNodelay));
        yield return new("error_page", string.Join(" | ", s.ErrorPages.Select(e =>
            string.Join(' ', e.Codes) + (e.Response is int r ? (r == 0 ? " =" : " =" + r) : "") + " " + e.Uri.Text)));
        yield return new("recursive_error_pages", OnOff(s.RecursiveErrorPages));
        yield return new("add_header", string.Join(" | ", s.AddHeaders.Select(a => $"{a.Name} {Quote(a.Value.Text)}{(a.Always ? " always" : "")}")));
        yield return new("charset", s.Charset ?? "off");
        yield return new("charset_types", string.Join(' ', s.CharsetTypes));
        yield return new("allow/deny", string.Join(" | ", s.Access.Select(a => (a.Allow ? "allow " : "deny ") + a.Text)));
        yield return new("expires", s.Expires is null ? "(none)" : $"{Lower(s.Expires.Mode)} {Time(s.Expires.Time)}");
        yield return new("log_not_found", OnOff(s.LogNotFound));
        yield return new("access_log", (s.AccessLogOff ? "off" : s.AccessLogs.Count == 0 ? "(default)" : "") + string.Join(" | ", s.AccessLogs.Select(AccessLog)));
        yield return new("error_log", string.Join(" | ", s.ErrorLogs.Select(e => $"{e.File} {Level(e.Level)}")));
        GzipSettings g = s.Gzip;
        yield return new("gzip", OnOff(g.Enabled));
        yield return new("gzip_comp_level", Num(g.CompLevel));
        yield return new("gzip_min_length", Num(g.MinLength));
        yield return new("gzip_types", g.Types is null ? "*" : string.Join(' ', g.Types.Prepend("text/html").Distinct()));
        yield return new("gzip_buffers", $"{g.BuffersCount} {Num(g.BuffersSize)}");
        yield return new("gzip_http_version", g.Http10 ? "1.0" : "1.1");
        yield return new("gzip_vary", OnOff(g.Vary));
        yield return new("gzip_proxied", string.Join(' ', Directives.GzipDirectives.ProxiedNames.Where(p => g.Proxied.HasFlag(p.Value)).Select(p => p.Name)));
        yield return new("gzip_disable", string.Join(' ', g.DisableRegexes.Prepend(g.DisableMsie6 ? "msie6" : "").Where(x => x.Length > 0)));
        yield return new("gzip_static", Lower(g.Static));
        foreach (KeyValuePair<string, string> pair in FastCgiDump.Describe(s))
        {
            yield return pair;
        }
    }

    private static string AccessLog(AccessLogConfig a)
    {
        var sb = new StringBuilder();
        sb.Append(a.Path.Text).Append(' ').Append(a.Format);
        if (a.BufferSize > 0) sb.Append(" buffer=").Append(a.BufferSize);
        if (a.GzipLevel is int g) sb.Append(" gzip=").Append(g);
        if (a.Flush is { } f) sb.Append(" flush=").Append(Time(f));
        if (a.Condition is not null) sb.Append(" if=").Append(a.Condition.Text);
        return sb.ToString();
    }


    internal static string OnOff(bool b) => b ? "on" : "off";

    internal static string Lower<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    internal static string Num(long n) => n.ToString(CultureInfo.InvariantCulture);

    internal static string Time(TimeSpan t) => t.TotalMilliseconds % 1000 == 0
        ? ((long)t.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s"
        : ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";

    internal static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)
        .Replace("\t", "\\t", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal) + "\"";

    private static string Level(LogLevel level) => Lower(level);
}
