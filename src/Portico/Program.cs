using Portico;

return await PorticoCommand.RunAsync(args).ConfigureAwait(false);
