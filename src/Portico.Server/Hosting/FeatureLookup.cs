using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http.Features;

namespace Portico.Server.Hosting;

/// <summary>
/// Feature lookups through the collection's indexer. <c>IFeatureCollection.Get&lt;T&gt;</c> is a generic virtual
/// method, which NativeAOT resolves through a runtime lookup on every call; the indexer is a plain interface
/// call (Kestrel answers it with a few type comparisons). Used on the per-request path. Inlined, so the cast is
/// to the call site's exact type: shared generic code looks <c>T</c> up at run time first.
/// </summary>
internal static class FeatureLookup
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T? Find<T>(this IFeatureCollection features)
        where T : class => features[typeof(T)] as T;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T FindRequired<T>(this IFeatureCollection features)
        where T : class
    {
        if (features[typeof(T)] is T found)
        {
            return found;
        }

        ThrowMissing(typeof(T));
        return null!;
    }

    [DoesNotReturn]
    private static void ThrowMissing(Type feature) => throw new InvalidOperationException($"Feature {feature} is not available.");
}
