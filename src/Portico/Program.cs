using Portico;

SignalSender.ResetIgnoredStopSignals();
return await PorticoCommand.RunAsync(args).ConfigureAwait(false);
