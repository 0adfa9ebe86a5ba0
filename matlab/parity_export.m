function parity_export(net, filename, version)
%PARITY_EXPORT Write a Deep Learning Toolbox network as a parity.dlt/1 .mat file.
%   PARITY_EXPORT(NET, FILENAME) writes NET (a SeriesNetwork, DAGNetwork, dlnetwork,
%   LayerGraph or layer array) to FILENAME as plain structs, cells and arrays that the
%   parity importer reads without MATLAB:
%
%     format       'parity.dlt/1'
%     layers       1xL cell; each a struct with Name, Class (class name without package)
%                  and every public property of the layer, in MATLAB shapes
%     connections  Kx2 cell {source, destination} from net.Connections ({} for a series)
%     inputNames   cellstr (net.InputNames where the network has them)
%     outputNames  cellstr (net.OutputNames where the network has them)
%
%   PARITY_EXPORT(NET, FILENAME, VERSION) saves with VERSION '-v7' (default) or '-v7.3'
%   (needed for networks over 2 GB).
%
%   Then, in Python:  parity mat2torch FILENAME -o model.pt
%
%   Why: a network object saved with save('net.mat', 'net') is an MCOS object that only
%   MATLAB can decode; this exporter writes what the object holds in plain form.

if nargin < 3
    version = '-v7';
end
if ~any(strcmp(version, {'-v7', '-v7.3', '-v6'}))
    error('parity_export:version', 'VERSION must be ''-v7'' or ''-v7.3'', not %s', version);
end

source = parity_get(net, 'Layers', net);
count = parity_count(source);
layers = cell(1, count);
for i = 1:count
    layers{i} = parity_layer_struct(parity_item(source, i));
end

format = 'parity.dlt/1';  %#ok<NASGU> saved by name below
connections = parity_connections(parity_get(net, 'Connections', {}));  %#ok<NASGU>
inputNames = parity_cellstr(parity_get(net, 'InputNames', {}));  %#ok<NASGU>
outputNames = parity_cellstr(parity_get(net, 'OutputNames', {}));  %#ok<NASGU>
save(filename, 'format', 'layers', 'connections', 'inputNames', 'outputNames', version);
end


function s = parity_layer_struct(layer)
% Name, Class and the public properties, each as a plain value.
s = struct();
s.Name = char(parity_get(layer, 'Name', ''));
s.Class = parity_class_name(layer);
names = parity_property_names(layer);
for k = 1:numel(names)
    name = names{k};
    if any(strcmp(name, {'Name', 'Class'}))
        continue
    end
    try
        value = layer.(name);
    catch
        continue  % a dependent property that cannot be computed out of its network
    end
    [value, keep] = parity_plain(value);
    if keep
        s.(name) = value;
    end
end
end


function name = parity_class_name(layer)
if isstruct(layer) && isfield(layer, 'Class')
    name = layer.Class;  % already plain (or a stand-in in tests)
    return
end
name = class(layer);
dot = find(name == '.', 1, 'last');
if ~isempty(dot)
    name = name(dot + 1:end);  % nnet.cnn.layer.Convolution2DLayer -> Convolution2DLayer
end
end


function names = parity_property_names(layer)
if isstruct(layer)
    names = fieldnames(layer);
else
    names = properties(layer);
end
end


function [value, keep] = parity_plain(value)
% Numbers, logicals, chars and cellstr pass; strings become char/cellstr; dlarray and
% gpuArray values are gathered; anything else (function handles, objects) is left out.
keep = true;
if isa(value, 'dlarray')
    value = extractdata(value);
end
if isa(value, 'gpuArray')
    value = gather(value);
end
if exist('isstring', 'builtin') && isstring(value)
    if isscalar(value)
        value = char(value);
    else
        value = cellstr(value);
    end
elseif isnumeric(value) || islogical(value) || ischar(value) || iscellstr(value)
    % already plain
else
    keep = false;
end
end


function value = parity_get(object, name, default)
value = default;
if isstruct(object) && isfield(object, name)
    value = object.(name);
elseif isobject(object)
    try
        value = object.(name);
    catch
    end
end
end


function n = parity_count(layers)
if iscell(layers)
    n = numel(layers);
else
    n = numel(layers);
end
end


function layer = parity_item(layers, i)
if iscell(layers)
    layer = layers{i};
else
    layer = layers(i);
end
end


function c = parity_connections(connections)
% net.Connections is a table with Source and Destination; a struct with those fields works too.
c = cell(0, 2);
if isempty(connections)
    return
end
if exist('istable', 'file') && istable(connections)
    c = [cellstr(connections.Source), cellstr(connections.Destination)];
elseif isstruct(connections) && isfield(connections, 'Source')
    sources = parity_cellstr(connections.Source);
    destinations = parity_cellstr(connections.Destination);
    c = [sources(:), destinations(:)];
elseif iscell(connections) && size(connections, 2) == 2
    c = connections;
else
    error('parity_export:connections', 'cannot read net.Connections of class %s', ...
          class(connections));
end
end


function c = parity_cellstr(value)
if ischar(value)
    c = {value};
elseif iscell(value)
    c = value;
else
    c = cellstr(value);
end
c = reshape(c, 1, []);
end
