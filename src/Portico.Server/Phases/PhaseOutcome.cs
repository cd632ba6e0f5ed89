namespace Portico.Server.Phases;

/// <summary>What a phase decided: the response is done, a status to finalize, or an internal redirect.</summary>
internal readonly record struct PhaseOutcome(PhaseOutcomeKind Kind, int Status = 0, string? Uri = null, string? Args = null)
{
    public static PhaseOutcome Done { get; } = new(PhaseOutcomeKind.Done);

    public static PhaseOutcome Continue { get; } = new(PhaseOutcomeKind.Continue);

    public static PhaseOutcome WithStatus(int status) => new(PhaseOutcomeKind.Status, status);

    /// <summary>Internal redirect to a URI (args replace the current ones when not null).</summary>
    public static PhaseOutcome Redirect(string uri, string? args) => new(PhaseOutcomeKind.Redirect, 0, uri, args);

    /// <summary>Internal redirect to a named location (<c>@name</c>).</summary>
    public static PhaseOutcome Named(string name) => new(PhaseOutcomeKind.Named, 0, name);
}

internal enum PhaseOutcomeKind
{
    /// <summary>The response was written.</summary>
    Done,

    /// <summary>Nothing decided yet; go on to the next phase.</summary>
    Continue,

    /// <summary>Finish with a status (error_page may apply).</summary>
    Status,

    /// <summary>Finish with a status; error_page does not apply (an error_page's own redirect).</summary>
    FinalStatus,

    /// <summary><c>return CODE TEXT</c>: send the text (in <see cref="PhaseOutcome.Uri"/>) as the body.</summary>
    Text,

    /// <summary><c>return 444</c>: close the connection without a response.</summary>
    Close,

    Redirect,
    Named,
}
