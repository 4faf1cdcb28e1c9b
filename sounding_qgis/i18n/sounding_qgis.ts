<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" sourcelanguage="en">
    <context>
        <name>SoundingEarth</name>
        <message>
            <location filename="../algorithms/base.py" />
            <source>Output pixel side in tile pixels (0: classify about an eighth of the tile, embed and soundscape one output pixel per tile)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>Sounds from (a folder mixing JPG-only and audio-only recordings needs a choice)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>Raster bands in the model's order, e.g. 3,2,1 (empty: the model's)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>Extent (empty: the whole raster)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>Device</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>Work at the ground resolution of</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>Cancelled: nothing was written to the outputs.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>decide from the folder and the model</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>spectrograms/*.jpg (the release's JPG encoding)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>audio/ and the prepare cache</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>Random seed</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>Tiles per model call</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>No raster layer given for {name}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>the model (resample the raster)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>the raster</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Build image/sound pairs</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <location filename="../algorithms/datasets.py" />
            <source>Data</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Makes a training set in the SoundingEarth layout from your own imagery and geotagged recordings. For every point of the point layer whose audio field names a sound file (wav, flac, ogg or mp3; absolute, or relative to the layer's folder), it crops a square tile of the raster centred on the point (tile size in metres on the ground, resampled to the given pixels), and writes images/KEY.jpg, audio/KEY.EXT and a row of metadata.csv into the output folder. The point layer may be any layer QGIS reads, in any CRS. Points whose tile is not wholly inside the raster, or whose audio is missing or unreadable, are skipped and counted. The pairs layer shows where pairs were made. Train on the folder with 'Pretrain'.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>The imagery the tiles are cut from: any raster GDAL reads.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>One point per recording, in any layer and CRS QGIS reads (the points are reprojected to the raster's CRS).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>The text field holding each recording's sound file (wav, flac, ogg or mp3): an absolute path, or one relative to the layer's folder.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>A numeric field with a unique integer key per recording, used in the file names and metadata.csv. Empty: the feature number.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>The side of the square tile cut around each point, in metres on the ground.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>The side of each tile image written, in pixels (the tile is resampled to it).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>The pairs folder (images/, audio/ and metadata.csv): the data folder for 'Pretrain'.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Optional: a point layer of the pairs written.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <location filename="../algorithms/labels.py" />
            <location filename="../algorithms/raster.py" />
            <location filename="../algorithms/sounds.py" />
            <location filename="../sounds_dock.py" />
            <source>Imagery</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Geotagged recordings (points)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Field holding the audio file path</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Field holding integer keys (empty: the feature number)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Tile side on the ground (metres)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Tile side (pixels)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <location filename="../algorithms/training.py" />
            <source>Pairs folder</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Pairs</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Pairs written</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Points skipped</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>No point layer given</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>{count} feature(s) without a point geometry were left out</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>row {row}: {reason} ({detail})</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Download a dataset of the paper</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Downloads a dataset of the paper from where it is published and extracts it into the dataset folder, in the layout the other algorithms and the command line read. SoundingEarth (the aerial images and sound spectrograms the paper pretrains on; tens of gigabytes) comes from Zenodo record 5600379; ADVANCE from Zenodo record 3828124; UC Merced Land Use from its publisher (weegee.vision.ucmerced.edu). Every file is checked against the checksum its record publishes (UC Merced publishes none: the SHA-256 of its first download is shown and recorded in the folder's source.json, and later downloads must match it). Cancelling keeps the partial download in the folder's .downloads/; run the algorithm again with the same folder to resume. Archives are extracted through a staging folder, refusing any member with an absolute path, '..' or a link, so nothing is written outside the folder and a cancelled extraction leaves no half-extracted data. Choose a folder on a disk with room for the archives and their contents (the archives are deleted afterwards unless kept). Then give the folder to 'Pretrain' (SoundingEarth) or 'Fine-tune a classifier' (UC Merced). AID, NWPU-RESISC45 and DeepGlobe have no stable direct address: `python -m backend data get aid` says where to get them and where to put them.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Which dataset: SoundingEarth (the image/sound pairs the paper pretrains on, tens of gigabytes), ADVANCE (scenes with their sounds) or UC Merced Land Use (a scene classification set for fine-tuning).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>The folder the dataset is extracted into (downloads go to its .downloads/ first). Choose the same folder again to resume a cancelled download; a complete folder downloads nothing.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Keep the verified archives in the folder's .downloads/ after extracting them (by default they are deleted).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Keep the downloaded archives (in the folder's .downloads/)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Dataset</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Dataset folder</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Files and their verified checksums</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Megabytes downloaded now</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Cancelled: the partial download is kept in the folder's .downloads/; run the algorithm again with the same folder to resume.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>Parameters</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>Outputs</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>Documentation: {link}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>Only this part of the raster is processed; it may be given in any CRS. Empty: the whole raster. An extent outside the raster is an error, and nothing is written.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>'the model': the raster is resampled to the ground resolution the model file records (when it records none, the raster's own is used and the log says so); 'the raster': the model looks at the raster's own pixels.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>Distance between output pixels, in pixels of a tile: each output pixel is one tile's answer. 0: about an eighth of the tile for a classifier, one output pixel per tile for embeddings and soundscape maps. For a segmentation model, the central square each overlapping tile keeps (0: half the tile).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>The raster bands that feed the model, 1-based, in the model's band order and separated by commas, e.g. 3,2,1 to give a blue-green-red raster to an RGB model. Empty: the bands the model file records.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>Tiles that go through the model at once: more is faster on a GPU and needs more memory.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>auto: the GPU (CUDA) when PyTorch sees one, else the CPU; cpu; cuda (an error on a machine without a CUDA GPU).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>Where the recordings' sounds are read from: decided by the folder and the model (default); only spectrograms/*.jpg (the release's JPG encoding; recordings without one are skipped); or only audio/ and the prepare cache (recordings without audio are skipped). A folder where some recordings have only a JPG and others only audio needs one of the last two.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>Seeds every random choice (initial weights, data order, augmentation, samples), so that a run can be repeated exactly.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Train classifier from labelled features</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <location filename="../algorithms/training.py" />
            <source>Training</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Trains a land-cover classifier from your own labels: a point or polygon layer (any format and CRS QGIS reads; tick 'Selected features only' to use a selection) whose class field holds text or integers, over an imagery layer of any sensor (any band count; 8-bit, 16-bit or float values). Each point, and samples spread inside each polygon, give a tile of the given ground size centred on it; with 'Choose the tile size by nested validation' the tile side is chosen among 16, 32 and 64 pixels by a spatially blocked cross-validation of the linear probe on frozen features, inside each training fold from its own samples only (so the reported accuracy stays honest) and for the final model from all samples; in 'finetune' mode the tile is chosen that way, then fine-tuned at. The report lists each size's score and the choices. The raster's radiometry (per-band 2-98 % range, mean and spread) is measured and stored in the model, so 'Classify raster' reads the imagery the same way. The trunk starts from a Sounding Earth model file (audiovisual pretraining), an ImageNet state dict (.pth) or random weights; 'linear' trains only the head on frozen features (fast), 'finetune' trains the whole network. The head sees the trunk's features plus the band values of the pixel under the sample ('hybrid', default) or the trunk's features only ('trunk'). Accuracy is measured honestly: the area is cut into blocks of the given size and whole blocks are held out in turn (spatial k-fold); the report gives overall accuracy, per-class precision, recall and F1, the confusion matrix and the majority-class baseline. With 'Compare' the same folds are also run with a random trunk (and ImageNet when given), with a pixel-wise random forest on the band values and with a pixel-wise logistic regression (the hybrid head without its trunk), so you see whether pretraining pays off on your data. The final model is trained on every sample; the report (HTML and JSON) is written beside it. Class colours come from the layer's categorised style on the class field when it has one, else water is blue, forest green, urban red and so on. Optionally the raster is classified with the new model right away.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>The imagery to train on: any raster, any band count, 8-bit, 16-bit or float values.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Points or polygons whose class field holds the class, in any format and CRS QGIS reads (reprojected to the raster's). With 'Selected features only' only the selection is used.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>The field holding each feature's class, text or integers. Features with an empty class are counted and left out.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Where the trunk starts: a Sounding Earth model file (an audiovisual model from 'Pretrain', or a classifier), an ImageNet state dict (.pth, saved beforehand; nothing is downloaded), or empty for random weights.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>linear: a logistic-regression head on frozen features (fast); finetune: trains the whole network.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>hybrid: the head sees the trunk's features and the band values of the pixel under the sample; trunk: the trunk's features only.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>The side of the tile centred on each sample, in metres on the ground. 0: 32 pixels of the raster.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Choose the tile side among 16, 32 and 64 pixels by nested, spatially blocked validation inside each training fold, so the reported accuracy stays honest. Needs the tile side 0; costs one feature extraction per candidate.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>The side of the square blocks the area is cut into for the spatial cross-validation: whole blocks, and whole polygons, are held out together. 0: four tiles.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>The number of folds of the spatial cross-validation; each fold is predicted by a model trained on the others.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Also run the same folds with a random trunk (and ImageNet weights when given), a pixel-wise random forest and a pixel-wise logistic regression, to see whether pretraining pays off on your data.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>With 'Compare': an ImageNet state dict (.pth) to compare with as one more trunk.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Samples drawn per km² of each polygon inside the raster (at least one per polygon).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>At most this many samples per polygon, so that one large polygon does not drown the rest.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Passes over the samples in finetune mode.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>The classifier model file (.safetensors). The accuracy report (HTML and JSON) and the confusion matrix are written beside it.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Optional: classify the imagery with the new model right away and add the class map.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Start from (model file or ImageNet .pth; empty: random weights)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Labelled points or polygons</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Class field</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Head sees (hybrid: trunk features + the pixel's bands)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Tile side in metres (0: 32 pixels of the raster)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Choose the tile size by nested validation (16, 32 or 64 pixels; tile side must be 0)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Block side of the spatial split in metres (0: four tiles)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Folds of the spatial split</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Compare with a random trunk and pixel-wise baselines</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <location filename="../algorithms/training.py" />
            <source>Classifier model file</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Classify the raster with the new model</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Accuracy report (HTML)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Accuracy report (JSON)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Overall accuracy (spatial folds)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Majority-class accuracy</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>No labelled layer given for LABELS</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>ImageNet weights to compare with (.pth)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Samples per km² inside polygons</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Samples per polygon at most</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <location filename="../algorithms/training.py" />
            <source>Epochs</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>model: {model}; report: {report}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>skipped {count} feature(s): {reason}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Classify raster</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Classifies imagery with a classifier model file (from 'Train classifier from labelled features' or 'Fine-tune a classifier'). Writes a GeoTIFF of class numbers (nodata 255) that opens styled in the model's class colours and names, optionally the class probabilities (one band per class) and a confidence map (the largest class probability: low where the map is unsure, i.e. where more labels help). By default each output pixel is about an eighth of a tile, so the map shows useful detail. The model's radiometry is applied to the pixels; a raster whose data type or band count does not fit the model's training imagery gets a warning.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Embed raster</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Embeds every tile of the imagery with an audiovisual model's image encoder (from 'Pretrain') and writes one float32 band per embedding dimension (nodata NaN), for clustering, similarity search or your own analysis.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Soundscape map of a recording</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <location filename="../algorithms/sounds.py" />
            <source>Sounds</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Embeds a recording (wav, flac, ogg or mp3) with an audiovisual model's audio encoder and every tile of the imagery with its image encoder, and maps how close they are by the model's distance: the cosine similarity (-1 to 1), or minus the Euclidean distance for an imported paper model that ranks by it. Bright where the sound fits the place. The layer opens with a colour ramp from the lowest to the highest similarity.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>The raster is cut into tiles of the model's size, at the model's ground resolution (or the raster's own, if chosen or when the model does not record its own); each tile gives one output pixel, or finer pixels with a smaller stride. Memory does not grow with the raster's size. Only the extent, if given, is processed.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>A segmentation model file (DeepLabv3+, from 'transfer --task segmentation') gives one class per pixel instead: tiles overlap and each keeps its central square (the stride; default half the tile), so the map has the raster's own pixels (or the model's ground resolution, when it records one) and no seams at tile edges.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>The imagery to classify: any raster GDAL reads, whose bands fit the model (see the bands parameter).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Advanced. auto: on the CPU, ONNX Runtime in int8 once the model's int8 build has passed its check, and in fp32 where PyTorch would run fp32; PyTorch otherwise (bf16, CUDA). torch or onnxruntime to choose. The log says which ran and why.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Advanced. auto: int8 where it gives the fp32 class on at least 99% of the tiles it is checked on (built once per model, from the first batch of a raster of 96 tiles or more, with ONNX Runtime; else PyTorch's int8 for runs of 512 tiles or more on CPUs without native bf16), bf16 on CPUs with native bf16 and on CUDA, else fp32; fp32, bf16 or int8 to choose.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>A classifier model file (from 'Train classifier from labelled features', 'Fine-tune a classifier' or the model catalogue), or a segmentation model file (one class per pixel). The list offers the models you have.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>The class raster: a GeoTIFF of class numbers (nodata 255), opened in the model's class colours and names.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Optional: a GeoTIFF with one band per class holding its probability.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Optional: the largest class probability of each pixel (0 to 1), with a colour ramp: low where the map is unsure, i.e. where more labels help.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>The imagery to embed: any raster GDAL reads.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>An audiovisual model file (from 'Pretrain', the model catalogue or an imported checkpoint of the paper): its image encoder embeds the tiles.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>A float32 GeoTIFF with one band per embedding dimension (nodata NaN).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>The imagery to map: any raster GDAL reads.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>The audiovisual model: its audio encoder embeds the recording and its image encoder every tile.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>The recording (wav, flac, ogg or mp3). It is read in the spectrogram encoding the model was trained on.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>The similarity raster (one value per output pixel), opened with a colour ramp: bright where the sound fits the place.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <location filename="../dialogs.py" />
            <source>Classifier model</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Engine</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Precision</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Classes</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Class probabilities</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Confidence (largest class probability)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <location filename="../algorithms/sounds.py" />
            <location filename="../dialogs.py" />
            <source>Audiovisual model</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Embeddings</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <location filename="../algorithms/training.py" />
            <source>Embedding size</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <location filename="../dialogs.py" />
            <source>Recording</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Soundscape</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Lowest similarity</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Highest similarity</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>{width} x {height} pixels, tile {tile} px, stride {stride} px</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>{width} x {height} pixels, {bands} bands, {tiles} tiles</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>similarity to {recording}: {minimum} to {maximum}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>{name}: {count} pixels ({share}%)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Build sound index</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Embeds every recording of a folder in the SoundingEarth layout (metadata.csv plus audio/, spectrograms/ or the prepared cache) with an audiovisual model's audio encoder, and writes an index folder (embeddings.safetensors and recordings.csv). The 'Sounds here' panel and 'Query sounds for an extent' search it. Recordings without readable sound are skipped and counted. The recordings layer shows what was indexed. Sounds are read in the spectrogram encoding the model was trained on only: a model trained on spectrograms/*.jpg reads those (or raw audio through its JPG front end), any other the log-mel of the audio; a folder where some recordings have only a JPG and others only audio needs 'Sounds from' set.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Query sounds for an extent</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Embeds the imagery inside the extent (tiles side by side, or spread out when the extent is large), averages the embeddings and finds the recordings of a sound index whose sound embedding is closest. The output is a point layer of those recordings (at their own locations, in longitude/latitude) with rank, similarity, key, title, creator, licence, audio file and distance in km from the extent's centre. Use the model the index was built with. Empty extent: the whole raster.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>A folder of recordings in the SoundingEarth layout: metadata.csv plus audio/, spectrograms/ or the prepared cache.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>The audiovisual model whose audio encoder embeds the recordings. Query the index with the same model.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Each recording is embedded as the mean of at most this many of its windows of about 3 seconds, spread over the recording.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>The index folder (embeddings.safetensors and recordings.csv) that the 'Sounds here' panel and 'Query sounds for an extent' search.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Optional: a point layer of the indexed recordings at their places (longitude/latitude).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>The imagery whose look is matched with sounds.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>A sound index folder from 'Build sound index'.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>The audiovisual model the index was built with.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>How many of the closest recordings to return.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>A point layer of the closest recordings with rank, similarity, key, title, creator, licence, audio file and distance in km from the extent's centre.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Recording collection (SoundingEarth layout)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>3-second windows embedded per recording at most</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Index folder</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Indexed recordings</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Recordings indexed</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Recordings skipped</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Sound index folder</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Audiovisual model (the index's)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Recordings to return</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Closest recordings</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>indexed {count} recordings in {seconds} s</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>{count} recordings from {tiles} tiles in {seconds} s</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>skipped {key}: {reason} ({path})</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Pretrain (audiovisual, no labels)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Self-supervised audiovisual pretraining (Heidler et al., arXiv 2108.00688): an image ResNet and an audio ResNet learn to map an aerial tile and the recording made there close together in one embedding space, with no labels. The data folder is in the SoundingEarth layout (metadata.csv, images/, audio/ or spectrograms/), as written by 'Build image/sound pairs'. Writes RUN/model.safetensors (the model for the other algorithms), RUN/checkpoints/ after every epoch, RUN/metrics.csv and RUN/curves.png. Tick 'Resume' to continue a run from its last checkpoint. The model records the spectrogram encoding it learns (the release's spectrograms/*.jpg or the log-mel of audio/); a folder mixing JPG-only and audio-only recordings needs 'Sounds from' set. Protocol 'paper' trains the reference code's encoders (khdlr/SoundingEarth) with its loss on unnormalised embeddings, Adam at a constant rate and its augmentation, with the epochs, batch, crop, learning rate and image architecture given here (the paper used ResNet-50, batch 256, 300 epochs; its audio encoder is always ResNet-18 and the loss triplet). Long trainings are better started from the command line (python -m backend pretrain), which also runs on several GPUs.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Fine-tune a classifier</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Trains a scene classifier (the model 'Classify raster' and the toolbar's 'Classify imagery layer' use) on a scene dataset: one sub-folder per class holding its images (UC Merced, AID, NWPU-RESISC45 and EuroSAT ship this way; GeoTIFFs keep their ground resolution). The image trunk starts from a pretrained model file (from 'Pretrain'), or from random weights when none is given. 'finetune' trains the whole network; 'linear' keeps the trunk frozen and fits a logistic-regression head. Class colours: a list like #1f78b4,#33a02c or name=#rrggbb pairs (default: a qualitative palette). Unless 'train on every image' is ticked, half of each class is held out and the test accuracy is reported.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>A folder in the SoundingEarth layout (metadata.csv, images/, and audio/ or spectrograms/), e.g. from 'Build image/sound pairs' or 'Download a dataset of the paper'.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Passes over the training pairs (the paper trained 300).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Pairs per training step. The other pairs of a batch are each pair's negatives, so a larger batch makes the task harder (the paper used 256).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The side, in pixels, of the random image crop the image encoder sees.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The length of the embedding images and sounds share (128, as in the paper).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>triplet: the paper's batch triplet loss (margin 1); infonce: symmetric InfoNCE (refused under the paper protocol).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The peak learning rate (AdamW with warm-up and cosine decay; under the paper protocol Adam at this constant rate).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>product: this project's training (normalised embeddings, AdamW, its augmentation); paper: the reference code's encoders, loss, optimiser and augmentation, for results comparable with the paper. The documentation's Pretraining page lists every difference.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The image encoder: resnet18 or resnet50 (the paper's). The audio encoder is the same ResNet under the product protocol and always a ResNet-18 under the paper protocol.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Processes that decode images and sounds beside the training. 0: in the training's own process; on Windows and macOS each extra process would start QGIS again, so keep 0 there.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>End each epoch after this many steps, for a quick trial; 0: every batch.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Continue the run in the output folder from its last complete checkpoint, instead of starting anew; it ends with the same weights as an uninterrupted run.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The run folder: model.safetensors (the model for the other algorithms), checkpoints/, metrics.csv, curves.png and config.json.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>A folder with one sub-folder per class holding its images (JPG, PNG or GeoTIFF), as UC Merced, AID, NWPU-RESISC45 and EuroSAT ship.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The model whose image trunk training starts from: an audiovisual model from 'Pretrain' or a classifier model file. Empty: random weights.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>finetune: trains the whole network; linear: keeps the trunk frozen and fits a logistic-regression head.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Passes over the training images when fine-tuning.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Images per training step.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The side, in pixels, every image is resized to; it becomes the model's tile.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The learning rate of fine-tuning (AdamW, cosine schedule).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The classes' colours in the maps: a list like #1f78b4,#33a02c in class order, or name=#rrggbb pairs. Empty: the demo's land-cover colours for the demo's classes, else a qualitative palette.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Metres per pixel of the images when they are not georeferenced (GeoTIFFs give their own). The model records it, so classifying resamples rasters to it. 0: unknown (rasters are then classified at their own pixels).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Train on every image. Otherwise half of each class is held out and the test accuracy is reported.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The classifier model file (.safetensors) with class names and colours, bands, normalisation, tile size and ground resolution: what 'Classify raster' and the toolbar read.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Pretrained model (empty: random initialisation)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Pairs per batch</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Image crop side (pixels)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Loss</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Learning rate</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Protocol</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Resume the run in the output folder</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Run folder</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <location filename="../dialogs.py" />
            <location filename="../model_chooser.py" />
            <source>Model file</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Final training loss</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Scene dataset (one folder per class)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Images per batch</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Image side (pixels)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Class colours (empty: default palette)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Train on every image (no test split)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Test accuracy</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <location filename="../models_dialog.py" />
            <source>Architecture</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Data-loading processes</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Steps per epoch at most (0: all)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>trained {epochs} epoch(s); final loss {loss}; model: {model}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Ground metres per pixel of the images, if not georeferenced (0: unknown)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>classes: {names}; model: {model}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>test accuracy {accuracy}, macro F1 {f1}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source>NVIDIA GPU found</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source>no NVIDIA GPU found</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source>CPU-only PyTorch</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source>PyTorch with CUDA (NVIDIA GPU)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source>Sounding Earth needs Python packages that QGIS cannot import: {packages}. Its algorithms are disabled until they are installed.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source>{head} Use Plugins &gt; Sounding Earth &gt; Install dependencies, or run: {command} — then restart QGIS.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source>{name} ({reason}): about {download} to download, about {disk} on disk.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source> Older copies are in the way: {copies}.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source>PyTorch as the wheel folder {folder} holds it (the {kind} build suits this machine: {reason}); nothing is downloaded.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source>{head} {error} Run this where QGIS's Python {version} is python{version} (on Windows: the OSGeo4W Shell): {command} — then restart QGIS.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Recordings (*.wav *.flac *.ogg *.mp3 *.WAV *.FLAC *.OGG *.MP3);;All files (*)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Sounding Earth: classify imagery layer</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Classifies every tile of the imagery with a classifier model file (or every pixel, with a segmentation model file) and adds the land-cover layer in the model's class colours. It runs in the background; follow or cancel it in the task manager.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Sounding Earth: soundscape map</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Maps where a recording belongs: every tile of the imagery is compared with the sound, and the similarity is added as a heat layer (bright where the sound fits).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Imagery layer</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Whole layer</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Current map view</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Extent</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Temporary file</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Save to</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Output</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Choose an imagery layer (add a raster to the project first).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>The map view is empty; zoom to the layer first.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Choose an output file, or a temporary one.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Choose a model file; {path} is not a file.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Choose a recording; {path} is not a file.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>none</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../installer.py" />
            <source>QGIS must be restarted afterwards.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Sounding Earth: install dependencies</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Cancel</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Sounding Earth: remove installed packages</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Installing dependencies was cancelled.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Install {packages} for QGIS's Python into {folder}?</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Command: {command}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Installing {packages} for QGIS's Python…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Dependencies installed into {folder} in {seconds} s. Restart QGIS to use Sounding Earth.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Delete {folder} ({size} GB), the Python packages the plugin installed?

The plugin's algorithms stop working until they are installed again; restart QGIS afterwards.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Removed {folder} ({size} GB). Restart QGIS.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Installing dependencies failed: {error}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../installer.py" />
            <source>pip failed (exit code {code}):</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../installer.py" />
            <source>No installed packages to remove: {folder} does not exist.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Could not delete all of {folder} ({error}). Restart QGIS (it keeps loaded libraries open) and remove it again, or delete the folder by hand.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../labels_action.py" />
            <source>Open accuracy report</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../labels_action.py" />
            <source>Trained {model}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../labels_action.py" />
            <source>The Sounding Earth Processing algorithms are not available (see the log).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../labels_action.py" />
            <source>: overall accuracy {percent} % on spatial folds</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../labels_action.py" />
            <source> (majority class {percent} %)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../layers.py" />
            <source>choose a valid raster layer</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../layers.py" />
            <source>layer {layer} is served by {provider}, not read from a file; save it as a GeoTIFF first (Export &gt; Save As…)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../layers.py" />
            <source>QGIS cannot open {path}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../model_chooser.py" />
            <source>Sounding Earth model (*.safetensors)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../model_chooser.py" />
            <source>Choose another model file</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../model_chooser.py" />
            <source>, missing</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Name</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Task</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>State</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>SHA-256</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Sounding Earth models</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>file address, for a model the catalogue has none for</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Download</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Cancel download</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>{name} was already downloaded and verified: {path}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>downloaded</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>{name} downloaded to {path}. No checksum is published for it: compare its SHA-256 {sha256} with the release page; it is recorded, and later downloads must match it.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>{name} downloaded to {path}; SHA-256 verified ({sha256}).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Models of the catalogue that ships with the plugin and the ones you added. Download verifies the SHA-256 and imports the paper's checkpoints; the model is then offered by every model chooser. Model folder: {folder}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>available</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>no address</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>not published</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Licence: {licence}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Downloading {name}…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>{name}: {error}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>{name}: download cancelled; the next download resumes where it stopped.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Release page: {page}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Copy it from {page} into the address field.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>{name}: the catalogue has no file address for this model. </source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Downloading {name}: {percent} %</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../player.py" />
            <source>{path}: recording not found</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../plugin.py" />
            <source>Classify imagery layer…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../plugin.py" />
            <source>Train classifier from labels…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../plugin.py" />
            <location filename="../sounds_dock.py" />
            <source>Sounds here</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../plugin.py" />
            <location filename="../sounds_dock.py" />
            <source>Soundscape map…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../plugin.py" />
            <source>Install dependencies…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../plugin.py" />
            <source>Remove installed packages…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../plugin.py" />
            <source>Models…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../plugin.py" />
            <source>About Sounding Earth…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../plugin.py" />
            <source>Self-supervised audiovisual representation learning for remote sensing (Heidler et al., arXiv 2108.00688).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../plugin.py" />
            <source>All backend packages import.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>Classified {layer} in {seconds} s: {count} classes, mostly {largest} ({share}%). Layer: {name}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>Sounding Earth: classify {layer}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>Classifying {layer}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>Mapped where {recording} belongs on {layer} in {seconds} s (similarity {minimum} to {maximum}). Layer: {name}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>Sounding Earth: soundscape of {recording}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>The soundscape map of {recording}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>{what} failed: {error}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>{what} was cancelled; nothing was written.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>{layer} classes</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>soundscape of {recording}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Title</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Creator</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Similarity</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Distance (km)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>−Distance</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>cosine similarity of the view's and the recording's embeddings (1 is closest)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>minus the Euclidean distance between the embeddings (0 is closest)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Sound index</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Model</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Follow the map</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Refresh</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Move the map over an imagery layer.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Play</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Stop</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Show on map</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Listening…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Recordings</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Choose an imagery layer.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Choose a sound index folder (built by 'Build sound index').</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Choose the audiovisual model the index was built with.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>The map view is empty.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>The query failed.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source> around {lat}, {lon}</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>{count} recordings closest to the view{where} ({tiles} tiles, {seconds} s).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Score</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>(untitled)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Playing {title} ({how}).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Cannot play {file}: {error}</source>
            <translation type="unfinished" />
        </message>
    </context>
</TS>
