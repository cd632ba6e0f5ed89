namespace Portico.Config.Directives;

/// <summary>
/// Where a directive may appear, as nginx's NGX_MAIN_CONF, NGX_EVENT_CONF, NGX_HTTP_MAIN_CONF,
/// NGX_HTTP_SRV_CONF, NGX_HTTP_LOC_CONF (nested locations included) and NGX_HTTP_UPS_CONF.
/// </summary>
[Flags]
internal enum DirectiveContext
{
    None = 0,
    Main = 1,
    Events = 2,
    Http = 4,
    Server = 8,
    Location = 16,
    Upstream = 32,
    Types = 64,

    HttpAll = Http | Server | Location,
    HttpServer = Http | Server,
    ServerLocation = Server | Location,
    Any = Main | Events | Http | Server | Location | Upstream | Types,
}
