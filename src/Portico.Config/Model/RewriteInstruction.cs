namespace Portico.Config.Model;

/// <summary>One step of the rewrite module's per-level program, in file order.</summary>
public abstract record RewriteInstruction(SourceLocation Where);

/// <summary>
/// <c>return CODE [TEXT]</c>, <c>return CODE URL</c>, <c>return URL</c>
/// (https://nginx.org/en/docs/http/ngx_http_rewrite_module.html#return).
/// For <c>return URL</c>, <see cref="Code"/> is 302. For 301/302/303/307/308 <see cref="Text"/> is the redirect URL.
/// </summary>
public sealed record ReturnInstruction(int Code, ConfigValue? Text, SourceLocation Where) : RewriteInstruction(Where);

/// <summary>
/// <c>set $NAME VALUE</c> (https://nginx.org/en/docs/http/ngx_http_rewrite_module.html#set): the value, evaluated when
/// the step runs, becomes the request's <c>$NAME</c>. <see cref="Name"/> is without the <c>$</c>, in lower case (nginx
/// variable names are case-insensitive).
/// </summary>
public sealed record SetInstruction(string Name, ConfigValue Value, SourceLocation Where) : RewriteInstruction(Where);
