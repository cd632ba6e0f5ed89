using Portico.Config.Model;

namespace Portico.Config.Directives;

/// <summary>
/// What one http/server/location level sets itself. Each directive records a change to apply to
/// the enclosing level's effective settings, so merging at load is "parent, then my changes":
/// unset scalars are inherited, and a list directive replaces the parent's list only when this
/// level has one (https://nginx.org/en/docs/beginners_guide.html, "inheritance").
/// </summary>
internal sealed class LevelSettings
{
    private readonly HashSet<string> _set = new(StringComparer.Ordinal);
    private readonly List<Func<LocationSettings, LocationSettings>> _changes = [];
    private readonly Dictionary<string, object> _lists = new(StringComparer.Ordinal);

    /// <summary>The name of the directive that set <paramref name="key"/>, for "was specified earlier" messages.</summary>
    public Dictionary<string, string> SetBy { get; } = new(StringComparer.Ordinal);

    public bool IsSet(string key) => _set.Contains(key);

    /// <summary>Records a scalar; false when the level already set it (nginx: "is duplicate").</summary>
    public bool TrySet(string key, string directive, Func<LocationSettings, LocationSettings> change)
    {
        if (!_set.Add(key))
        {
            return false;
        }

        SetBy[key] = directive;
        _changes.Add(change);
        return true;
    }

    /// <summary>The level's own list for a list-valued directive, created (and applied at merge) on first use.</summary>
    public List<T> List<T>(string key, Func<LocationSettings, List<T>, LocationSettings> apply)
    {
        if (_lists.TryGetValue(key, out object? existing))
        {
            return (List<T>)existing;
        }

        var list = new List<T>();
        _lists[key] = list;
        _set.Add(key);
        _changes.Add(s => apply(s, list));
        return list;
    }

    public LocationSettings Apply(LocationSettings parent)
    {
        LocationSettings s = parent;
        foreach (Func<LocationSettings, LocationSettings> change in _changes)
        {
            s = change(s);
        }

        return s;
    }
}
