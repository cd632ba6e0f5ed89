using Portico;

StandardStreams.EnsureOpen();
SignalSender.ResetIgnoredStopSignals();
return await PorticoCommand.RunAsync(args).ConfigureAwait(false);
