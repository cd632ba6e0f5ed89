using Portico;

StandardStreams.EnsureOpen();
return await PorticoCommand.RunAsync(args).ConfigureAwait(false);
