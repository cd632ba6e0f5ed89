using Microsoft.AspNetCore.Http.Features;

namespace Portico.Server.Hosting;

/// <summary>
/// Feature lookups through the collection's indexer. <c>IFeatureCollection.Get&lt;T&gt;</c> is a generic virtual
/// method, which NativeAOT resolves through a runtime lookup on every call; the indexer is a plain interface
/// call (Kestrel answers it with a few type comparisons). Used on the per-request path.
/// </summary>
internal static class FeatureLookup
{
    public static T? Find<T>(this IFeatureCollection features)
        where T : class => features[typeof(T)] as T;

    public static T FindRequired<T>(this IFeatureCollection features)
        where T : class => features[typeof(T)] as T ?? throw new InvalidOperationException($"Feature {typeof(T)} is not available.");
}
