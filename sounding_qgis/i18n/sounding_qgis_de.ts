<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" sourcelanguage="en" language="de">
    <context>
        <name>SoundingEarth</name>
        <message>
            <location filename="../algorithms/base.py" />
            <source>Output pixel side in tile pixels (0: classify about an eighth of the tile, embed and soundscape one output pixel per tile)</source>
            <translation>Ausgabepixel-Seite in Kachelpixeln (0: Klassifizieren etwa ein Achtel der Kachel, Einbetten und Klanglandschaft ein Ausgabepixel je Kachel)</translation>
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>Sounds from (a folder mixing JPG-only and audio-only recordings needs a choice)</source>
            <translation>Töne aus (ein Ordner, der Aufnahmen nur als JPG und nur als Audio mischt, braucht eine Wahl)</translation>
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>Raster bands in the model's order, e.g. 3,2,1 (empty: the model's)</source>
            <translation>Rasterkanäle in der Reihenfolge des Modells, z. B. 3,2,1 (leer: die des Modells)</translation>
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>Extent (empty: the whole raster)</source>
            <translation>Ausdehnung (leer: das ganze Raster)</translation>
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>Device</source>
            <translation>Gerät</translation>
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>Work at the ground resolution of</source>
            <translation>In der Bodenauflösung arbeiten von</translation>
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>Cancelled: nothing was written to the outputs.</source>
            <translation>Abgebrochen: In die Ausgaben wurde nichts geschrieben.</translation>
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>decide from the folder and the model</source>
            <translation>aus dem Ordner und dem Modell entscheiden</translation>
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>spectrograms/*.jpg (the release's JPG encoding)</source>
            <translation>spectrograms/*.jpg (die JPG-Kodierung der Veröffentlichung)</translation>
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>audio/ and the prepare cache</source>
            <translation>audio/ und der Vorbereitungs-Cache</translation>
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>Random seed</source>
            <translation>Zufalls-Startwert</translation>
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>Tiles per model call</source>
            <translation>Kacheln je Modellaufruf</translation>
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>No raster layer given for {name}</source>
            <translation>Kein Rasterlayer für {name} angegeben</translation>
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>the model (resample the raster)</source>
            <translation>des Modells (Raster neu abtasten)</translation>
        </message>
        <message>
            <location filename="../algorithms/base.py" />
            <source>the raster</source>
            <translation>des Rasters</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Build image/sound pairs</source>
            <translation>Bild-/Ton-Paare erstellen</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <location filename="../algorithms/datasets.py" />
            <source>Data</source>
            <translation>Daten</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Makes a training set in the SoundingEarth layout from your own imagery and geotagged recordings. For every point of the point layer whose audio field names a sound file (wav, flac, ogg or mp3; absolute, or relative to the layer's folder), it crops a square tile of the raster centred on the point (tile size in metres on the ground, resampled to the given pixels), and writes images/KEY.jpg, audio/KEY.EXT and a row of metadata.csv into the output folder. The point layer may be any layer QGIS reads, in any CRS. Points whose tile is not wholly inside the raster, or whose audio is missing or unreadable, are skipped and counted. The pairs layer shows where pairs were made. Train on the folder with 'Pretrain'.</source>
            <translation>Erstellt einen Trainingsdatensatz im SoundingEarth-Layout aus Ihren eigenen Bilddaten und georeferenzierten Aufnahmen. Für jeden Punkt des Punktlayers, dessen Audiofeld eine Tondatei nennt (wav, flac, ogg oder mp3; absolut oder relativ zum Ordner des Layers), schneidet es eine quadratische, auf den Punkt zentrierte Kachel aus dem Raster (Kachelgröße in Metern am Boden, auf die angegebenen Pixel umgetastet) und schreibt images/KEY.jpg, audio/KEY.EXT und eine Zeile von metadata.csv in den Ausgabeordner. Der Punktlayer darf jeder Layer sein, den QGIS liest, in jedem KBS. Punkte, deren Kachel nicht ganz im Raster liegt oder deren Audio fehlt oder unlesbar ist, werden übersprungen und gezählt. Der Paare-Layer zeigt, wo Paare entstanden sind. Trainieren Sie auf dem Ordner mit „Vortrainieren“.</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>The imagery the tiles are cut from: any raster GDAL reads.</source>
            <translation>Die Bilddaten, aus denen die Kacheln geschnitten werden: jedes Raster, das GDAL liest.</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>One point per recording, in any layer and CRS QGIS reads (the points are reprojected to the raster's CRS).</source>
            <translation>Ein Punkt je Aufnahme, in jedem Layer und KBS, das QGIS liest (die Punkte werden in das KBS des Rasters umprojiziert).</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>The text field holding each recording's sound file (wav, flac, ogg or mp3): an absolute path, or one relative to the layer's folder.</source>
            <translation>Das Textfeld mit der Tondatei jeder Aufnahme (wav, flac, ogg oder mp3): ein absoluter Pfad oder einer relativ zum Ordner des Layers.</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>A numeric field with a unique integer key per recording, used in the file names and metadata.csv. Empty: the feature number.</source>
            <translation>Ein numerisches Feld mit einem eindeutigen ganzzahligen Schlüssel je Aufnahme, der in den Dateinamen und in metadata.csv verwendet wird. Leer: die Objektnummer.</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>The side of the square tile cut around each point, in metres on the ground.</source>
            <translation>Die Seite der quadratischen Kachel, die um jeden Punkt geschnitten wird, in Metern am Boden.</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>The side of each tile image written, in pixels (the tile is resampled to it).</source>
            <translation>Die Seite jedes geschriebenen Kachelbilds in Pixeln (die Kachel wird darauf neu abgetastet).</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>The pairs folder (images/, audio/ and metadata.csv): the data folder for 'Pretrain'.</source>
            <translation>Der Paare-Ordner (images/, audio/ und metadata.csv): der Datenordner für „Vortrainieren“.</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Optional: a point layer of the pairs written.</source>
            <translation>Optional: ein Punktlayer der geschriebenen Paare.</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <location filename="../algorithms/labels.py" />
            <location filename="../algorithms/raster.py" />
            <location filename="../algorithms/sounds.py" />
            <location filename="../sounds_dock.py" />
            <source>Imagery</source>
            <translation>Bilddaten</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Geotagged recordings (points)</source>
            <translation>Georeferenzierte Aufnahmen (Punkte)</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Field holding the audio file path</source>
            <translation>Feld mit dem Pfad der Audiodatei</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Field holding integer keys (empty: the feature number)</source>
            <translation>Feld mit ganzzahligen Schlüsseln (leer: die Objektnummer)</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Tile side on the ground (metres)</source>
            <translation>Kachelseite am Boden (Meter)</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Tile side (pixels)</source>
            <translation>Kachelseite (Pixel)</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <location filename="../algorithms/training.py" />
            <source>Pairs folder</source>
            <translation>Paare-Ordner</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Pairs</source>
            <translation>Paare</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Pairs written</source>
            <translation>Geschriebene Paare</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>Points skipped</source>
            <translation>Übersprungene Punkte</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>No point layer given</source>
            <translation>Kein Punktlayer angegeben</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>{count} feature(s) without a point geometry were left out</source>
            <translation>{count} Objekt(e) ohne Punktgeometrie wurden ausgelassen</translation>
        </message>
        <message>
            <location filename="../algorithms/data.py" />
            <source>row {row}: {reason} ({detail})</source>
            <translation>Zeile {row}: {reason} ({detail})</translation>
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Download a dataset of the paper</source>
            <translation>Einen Datensatz des Artikels herunterladen</translation>
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Downloads a dataset of the paper from where it is published and extracts it into the dataset folder, in the layout the other algorithms and the command line read. SoundingEarth (the aerial images and sound spectrograms the paper pretrains on; tens of gigabytes) comes from Zenodo record 5600379; ADVANCE from Zenodo record 3828124; UC Merced Land Use from its publisher (weegee.vision.ucmerced.edu). Every file is checked against the checksum its record publishes (UC Merced publishes none: the SHA-256 of its first download is shown and recorded in the folder's source.json, and later downloads must match it). Cancelling keeps the partial download in the folder's .downloads/; run the algorithm again with the same folder to resume. Archives are extracted through a staging folder, refusing any member with an absolute path, '..' or a link, so nothing is written outside the folder and a cancelled extraction leaves no half-extracted data. Choose a folder on a disk with room for the archives and their contents (the archives are deleted afterwards unless kept). Then give the folder to 'Pretrain' (SoundingEarth) or 'Fine-tune a classifier' (UC Merced). AID, NWPU-RESISC45 and DeepGlobe have no stable direct address: `python -m backend data get aid` says where to get them and where to put them.</source>
            <translation>Lädt einen Datensatz des Artikels von seiner Veröffentlichungsstelle herunter und entpackt ihn in den Datensatzordner, in der Struktur, die die anderen Algorithmen und die Kommandozeile lesen. SoundingEarth (die Luftbilder und Schallspektrogramme, mit denen der Artikel vortrainiert; mehrere zehn Gigabyte) kommt aus dem Zenodo-Eintrag 5600379, ADVANCE aus dem Zenodo-Eintrag 3828124, UC Merced Land Use von seinem Herausgeber (weegee.vision.ucmerced.edu). Jede Datei wird mit der Prüfsumme geprüft, die ihr Eintrag veröffentlicht (UC Merced veröffentlicht keine: Die SHA-256 des ersten Downloads wird angezeigt und in der Datei source.json des Ordners festgehalten, und spätere Downloads müssen ihr entsprechen). Ein Abbruch behält den unvollständigen Download im Unterordner .downloads/; starten Sie den Algorithmus mit demselben Ordner erneut, um fortzusetzen. Archive werden über einen Zwischenordner entpackt; Einträge mit absolutem Pfad, '..' oder einer Verknüpfung werden abgelehnt, sodass nichts außerhalb des Ordners geschrieben wird und ein abgebrochenes Entpacken keine halb entpackten Daten hinterlässt. Wählen Sie einen Ordner auf einem Datenträger mit Platz für die Archive und ihren Inhalt (die Archive werden danach gelöscht, sofern sie nicht behalten werden). Geben Sie den Ordner dann an 'Vortrainieren (audiovisuell, ohne Beschriftungen)' (SoundingEarth) oder 'Klassifikator feinabstimmen' (UC Merced). AID, NWPU-RESISC45 und DeepGlobe haben keine feste direkte Adresse: `python -m backend data get aid` sagt, wo man sie bekommt und wohin sie gehören.</translation>
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Which dataset: SoundingEarth (the image/sound pairs the paper pretrains on, tens of gigabytes), ADVANCE (scenes with their sounds) or UC Merced Land Use (a scene classification set for fine-tuning).</source>
            <translation>Welcher Datensatz: SoundingEarth (die Bild-/Ton-Paare, auf denen der Artikel vortrainiert, einige zehn Gigabyte), ADVANCE (Szenen mit ihren Tönen) oder UC Merced Land Use (ein Satz zur Szenenklassifikation für das Feinabstimmen).</translation>
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>The folder the dataset is extracted into (downloads go to its .downloads/ first). Choose the same folder again to resume a cancelled download; a complete folder downloads nothing.</source>
            <translation>Der Ordner, in den der Datensatz entpackt wird (Downloads landen zuerst in seinem .downloads/). Wählen Sie denselben Ordner erneut, um einen abgebrochenen Download fortzusetzen; ein vollständiger Ordner lädt nichts herunter.</translation>
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Keep the verified archives in the folder's .downloads/ after extracting them (by default they are deleted).</source>
            <translation>Die geprüften Archive nach dem Entpacken im .downloads/ des Ordners behalten (standardmäßig werden sie gelöscht).</translation>
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Keep the downloaded archives (in the folder's .downloads/)</source>
            <translation>Heruntergeladene Archive behalten (im Unterordner .downloads/ des Ordners)</translation>
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Dataset</source>
            <translation>Datensatz</translation>
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Dataset folder</source>
            <translation>Datensatzordner</translation>
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Files and their verified checksums</source>
            <translation>Dateien und ihre geprüften Prüfsummen</translation>
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Megabytes downloaded now</source>
            <translation>Jetzt heruntergeladene Megabyte</translation>
        </message>
        <message>
            <location filename="../algorithms/datasets.py" />
            <source>Cancelled: the partial download is kept in the folder's .downloads/; run the algorithm again with the same folder to resume.</source>
            <translation>Abgebrochen: Der unvollständige Download bleibt im Unterordner .downloads/ des Ordners; starten Sie den Algorithmus mit demselben Ordner erneut, um fortzusetzen.</translation>
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>Parameters</source>
            <translation>Parameter</translation>
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>Outputs</source>
            <translation>Ausgaben</translation>
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>Documentation: {link}</source>
            <translation>Dokumentation: {link}</translation>
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>Only this part of the raster is processed; it may be given in any CRS. Empty: the whole raster. An extent outside the raster is an error, and nothing is written.</source>
            <translation>Nur dieser Teil des Rasters wird verarbeitet; er darf in jedem KBS angegeben werden. Leer: das ganze Raster. Eine Ausdehnung außerhalb des Rasters ist ein Fehler, und nichts wird geschrieben.</translation>
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>'the model': the raster is resampled to the ground resolution the model file records (when it records none, the raster's own is used and the log says so); 'the raster': the model looks at the raster's own pixels.</source>
            <translation>„des Modells“: das Raster wird auf die Bodenauflösung neu abgetastet, die die Modelldatei verzeichnet (verzeichnet sie keine, wird die des Rasters verwendet, und das Protokoll sagt es); „des Rasters“: das Modell sieht die eigenen Pixel des Rasters.</translation>
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>Distance between output pixels, in pixels of a tile: each output pixel is one tile's answer. 0: about an eighth of the tile for a classifier, one output pixel per tile for embeddings and soundscape maps. For a segmentation model, the central square each overlapping tile keeps (0: half the tile).</source>
            <translation>Abstand zwischen Ausgabepixeln, in Pixeln einer Kachel: jedes Ausgabepixel ist die Antwort einer Kachel. 0: etwa ein Achtel der Kachel für einen Klassifikator, ein Ausgabepixel je Kachel für Einbettungen und Klanglandschaftskarten. Bei einem Segmentierungsmodell das zentrale Quadrat, das jede überlappende Kachel behält (0: die halbe Kachel).</translation>
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>The raster bands that feed the model, 1-based, in the model's band order and separated by commas, e.g. 3,2,1 to give a blue-green-red raster to an RGB model. Empty: the bands the model file records.</source>
            <translation>Die Rasterkanäle, die das Modell speisen, ab 1 gezählt, in der Kanalreihenfolge des Modells und durch Kommas getrennt, z. B. 3,2,1, um einem RGB-Modell ein Blau-Grün-Rot-Raster zu geben. Leer: die Kanäle, die die Modelldatei verzeichnet.</translation>
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>Tiles that go through the model at once: more is faster on a GPU and needs more memory.</source>
            <translation>Kacheln, die auf einmal durch das Modell gehen: mehr ist auf einer GPU schneller und braucht mehr Speicher.</translation>
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>auto: the GPU (CUDA) when PyTorch sees one, else the CPU; cpu; cuda (an error on a machine without a CUDA GPU).</source>
            <translation>auto: die GPU (CUDA), wenn PyTorch eine sieht, sonst die CPU; cpu; cuda (ein Fehler auf einem Rechner ohne CUDA-GPU).</translation>
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>Where the recordings' sounds are read from: decided by the folder and the model (default); only spectrograms/*.jpg (the release's JPG encoding; recordings without one are skipped); or only audio/ and the prepare cache (recordings without audio are skipped). A folder where some recordings have only a JPG and others only audio needs one of the last two.</source>
            <translation>Woher die Töne der Aufnahmen gelesen werden: nach Ordner und Modell entschieden (Standard); nur spectrograms/*.jpg (die JPG-Kodierung der Veröffentlichung; Aufnahmen ohne eines werden übersprungen); oder nur audio/ und der prepare-Zwischenspeicher (Aufnahmen ohne Audio werden übersprungen). Ein Ordner, in dem einige Aufnahmen nur ein JPG und andere nur Audio haben, braucht eine der beiden letzten Möglichkeiten.</translation>
        </message>
        <message>
            <location filename="../algorithms/help.py" />
            <source>Seeds every random choice (initial weights, data order, augmentation, samples), so that a run can be repeated exactly.</source>
            <translation>Legt jede Zufallswahl fest (Anfangsgewichte, Datenreihenfolge, Augmentierung, Stichproben), sodass sich ein Lauf genau wiederholen lässt.</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Train classifier from labelled features</source>
            <translation>Klassifikator aus beschrifteten Objekten trainieren</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <location filename="../algorithms/training.py" />
            <source>Training</source>
            <translation>Training</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Trains a land-cover classifier from your own labels: a point or polygon layer (any format and CRS QGIS reads; tick 'Selected features only' to use a selection) whose class field holds text or integers, over an imagery layer of any sensor (any band count; 8-bit, 16-bit or float values). Each point, and samples spread inside each polygon, give a tile of the given ground size centred on it; with 'Choose the tile size by nested validation' the tile side is chosen among 16, 32 and 64 pixels by a spatially blocked cross-validation of the linear probe on frozen features, inside each training fold from its own samples only (so the reported accuracy stays honest) and for the final model from all samples; in 'finetune' mode the tile is chosen that way, then fine-tuned at. The report lists each size's score and the choices. The raster's radiometry (per-band 2-98 % range, mean and spread) is measured and stored in the model, so 'Classify raster' reads the imagery the same way. The trunk starts from a Sounding Earth model file (audiovisual pretraining), an ImageNet state dict (.pth) or random weights; 'linear' trains only the head on frozen features (fast), 'finetune' trains the whole network. The head sees the trunk's features plus the band values of the pixel under the sample ('hybrid', default) or the trunk's features only ('trunk'). Accuracy is measured honestly: the area is cut into blocks of the given size and whole blocks are held out in turn (spatial k-fold); the report gives overall accuracy, per-class precision, recall and F1, the confusion matrix and the majority-class baseline. With 'Compare' the same folds are also run with a random trunk (and ImageNet when given), with a pixel-wise random forest on the band values and with a pixel-wise logistic regression (the hybrid head without its trunk), so you see whether pretraining pays off on your data. The final model is trained on every sample; the report (HTML and JSON) is written beside it. Class colours come from the layer's categorised style on the class field when it has one, else water is blue, forest green, urban red and so on. Optionally the raster is classified with the new model right away.</source>
            <translation>Trainiert einen Landbedeckungs-Klassifikator aus Ihren eigenen Beschriftungen: ein Punkt- oder Polygonlayer (jedes Format und KBS, das QGIS liest; „Nur gewählte Objekte“ ankreuzen, um eine Auswahl zu nutzen), dessen Klassenfeld Text oder ganze Zahlen enthält, über einem Bilddatenlayer eines beliebigen Sensors (beliebige Kanalzahl; 8-Bit-, 16-Bit- oder Gleitkommawerte). Jeder Punkt und die in jedem Polygon verteilten Stichproben ergeben eine darauf zentrierte Kachel der angegebenen Bodengröße; mit „Kachelgröße durch verschachtelte Validierung wählen“ wird die Kachelseite unter 16, 32 und 64 Pixeln durch eine räumlich geblockte Kreuzvalidierung der linearen Sonde auf eingefrorenen Merkmalen gewählt, innerhalb jeder Trainingsfalte nur aus deren eigenen Stichproben (damit die berichtete Genauigkeit ehrlich bleibt) und für das endgültige Modell aus allen Stichproben; im Modus „finetune“ wird die Kachel so gewählt und dann damit feinabgestimmt. Der Bericht nennt die Bewertung jeder Größe und die Wahl. Die Radiometrie des Rasters (je Kanal der Bereich 2–98 %, Mittelwert und Streuung) wird gemessen und im Modell gespeichert, sodass „Raster klassifizieren“ die Bilddaten genauso liest. Der Rumpf beginnt mit einer Sounding-Earth-Modelldatei (audiovisuelles Vortraining), einem ImageNet-State-Dict (.pth) oder zufälligen Gewichten; „linear“ trainiert nur den Kopf auf eingefrorenen Merkmalen (schnell), „finetune“ trainiert das ganze Netz. Der Kopf sieht die Merkmale des Rumpfs und dazu die Kanalwerte des Pixels unter der Stichprobe („hybrid“, Standard) oder nur die Merkmale des Rumpfs („trunk“). Die Genauigkeit wird ehrlich gemessen: Das Gebiet wird in Blöcke der angegebenen Größe geschnitten, und ganze Blöcke werden der Reihe nach zurückgehalten (räumliche k-fache Kreuzvalidierung); der Bericht gibt Gesamtgenauigkeit, Precision, Recall und F1 je Klasse, die Konfusionsmatrix und die Genauigkeit der Mehrheitsklasse an. Mit „Vergleichen“ laufen dieselben Falten auch mit einem zufälligen Rumpf (und ImageNet, wenn angegeben), mit einem pixelweisen Random Forest auf den Kanalwerten und mit einer pixelweisen logistischen Regression (dem Hybridkopf ohne Rumpf), sodass Sie sehen, ob sich das Vortraining auf Ihren Daten lohnt. Das endgültige Modell wird auf allen Stichproben trainiert; der Bericht (HTML und JSON) wird daneben geschrieben. Die Klassenfarben stammen aus dem kategorisierten Stil des Layers auf dem Klassenfeld, wenn er einen hat, sonst ist Wasser blau, Wald grün, Siedlung rot und so weiter. Wahlweise wird das Raster sofort mit dem neuen Modell klassifiziert.</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>The imagery to train on: any raster, any band count, 8-bit, 16-bit or float values.</source>
            <translation>Die Bilddaten, auf denen trainiert wird: jedes Raster, jede Kanalzahl, 8-Bit-, 16-Bit- oder Gleitkommawerte.</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Points or polygons whose class field holds the class, in any format and CRS QGIS reads (reprojected to the raster's). With 'Selected features only' only the selection is used.</source>
            <translation>Punkte oder Polygone, deren Klassenfeld die Klasse enthält, in jedem Format und KBS, das QGIS liest (in das KBS des Rasters umprojiziert). Mit „Nur gewählte Objekte“ wird nur die Auswahl verwendet.</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>The field holding each feature's class, text or integers. Features with an empty class are counted and left out.</source>
            <translation>Das Feld mit der Klasse jedes Objekts, Text oder ganze Zahlen. Objekte mit leerer Klasse werden gezählt und ausgelassen.</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Where the trunk starts: a Sounding Earth model file (an audiovisual model from 'Pretrain', or a classifier), an ImageNet state dict (.pth, saved beforehand; nothing is downloaded), or empty for random weights.</source>
            <translation>Womit der Rumpf beginnt: eine Sounding-Earth-Modelldatei (ein audiovisuelles Modell aus „Vortrainieren“ oder ein Klassifikator), ein ImageNet-State-Dict (.pth, vorher gespeichert; nichts wird heruntergeladen) oder leer für zufällige Gewichte.</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>linear: a logistic-regression head on frozen features (fast); finetune: trains the whole network.</source>
            <translation>linear: ein Kopf aus logistischer Regression auf eingefrorenen Merkmalen (schnell); finetune: trainiert das ganze Netz.</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>hybrid: the head sees the trunk's features and the band values of the pixel under the sample; trunk: the trunk's features only.</source>
            <translation>hybrid: der Kopf sieht die Merkmale des Rumpfs und die Kanalwerte des Pixels unter der Stichprobe; trunk: nur die Merkmale des Rumpfs.</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>The side of the tile centred on each sample, in metres on the ground. 0: 32 pixels of the raster.</source>
            <translation>Die Seite der Kachel, die um jede Stichprobe zentriert ist, in Metern am Boden. 0: 32 Pixel des Rasters.</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Choose the tile side among 16, 32 and 64 pixels by nested, spatially blocked validation inside each training fold, so the reported accuracy stays honest. Needs the tile side 0; costs one feature extraction per candidate.</source>
            <translation>Die Kachelseite unter 16, 32 und 64 Pixeln durch verschachtelte, räumlich geblockte Validierung innerhalb jeder Trainingsfalte wählen, damit die berichtete Genauigkeit ehrlich bleibt. Braucht die Kachelseite 0; kostet eine Merkmalsextraktion je Kandidat.</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>The side of the square blocks the area is cut into for the spatial cross-validation: whole blocks, and whole polygons, are held out together. 0: four tiles.</source>
            <translation>Die Seite der quadratischen Blöcke, in die das Gebiet für die räumliche Kreuzvalidierung geschnitten wird: ganze Blöcke und ganze Polygone werden gemeinsam zurückgehalten. 0: vier Kacheln.</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>The number of folds of the spatial cross-validation; each fold is predicted by a model trained on the others.</source>
            <translation>Die Zahl der Falten der räumlichen Kreuzvalidierung; jede Falte wird von einem Modell vorhergesagt, das auf den anderen trainiert wurde.</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Also run the same folds with a random trunk (and ImageNet weights when given), a pixel-wise random forest and a pixel-wise logistic regression, to see whether pretraining pays off on your data.</source>
            <translation>Dieselben Falten zusätzlich mit einem zufälligen Rumpf (und ImageNet-Gewichten, wenn angegeben), einem pixelweisen Random Forest und einer pixelweisen logistischen Regression rechnen, um zu sehen, ob sich das Vortraining auf Ihren Daten lohnt.</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>With 'Compare': an ImageNet state dict (.pth) to compare with as one more trunk.</source>
            <translation>Mit dem Vergleich: ein ImageNet-State-Dict (.pth), das als weiterer Rumpf verglichen wird.</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Samples drawn per km² of each polygon inside the raster (at least one per polygon).</source>
            <translation>Stichproben je km² jedes Polygons innerhalb des Rasters (mindestens eine je Polygon).</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>At most this many samples per polygon, so that one large polygon does not drown the rest.</source>
            <translation>Höchstens so viele Stichproben je Polygon, damit ein großes Polygon die übrigen nicht übertönt.</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Passes over the samples in finetune mode.</source>
            <translation>Durchläufe über die Stichproben im Modus finetune.</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>The classifier model file (.safetensors). The accuracy report (HTML and JSON) and the confusion matrix are written beside it.</source>
            <translation>Die Klassifikator-Modelldatei (.safetensors). Der Genauigkeitsbericht (HTML und JSON) und die Konfusionsmatrix werden daneben geschrieben.</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Optional: classify the imagery with the new model right away and add the class map.</source>
            <translation>Optional: die Bilddaten sofort mit dem neuen Modell klassifizieren und die Klassenkarte hinzufügen.</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Start from (model file or ImageNet .pth; empty: random weights)</source>
            <translation>Beginnen mit (Modelldatei oder ImageNet-.pth; leer: zufällige Gewichte)</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Labelled points or polygons</source>
            <translation>Beschriftete Punkte oder Polygone</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Class field</source>
            <translation>Klassenfeld</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Head sees (hybrid: trunk features + the pixel's bands)</source>
            <translation>Der Kopf sieht (hybrid: Merkmale des Rumpfs + die Kanäle des Pixels)</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Tile side in metres (0: 32 pixels of the raster)</source>
            <translation>Kachelseite in Metern (0: 32 Pixel des Rasters)</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Choose the tile size by nested validation (16, 32 or 64 pixels; tile side must be 0)</source>
            <translation>Kachelgröße durch verschachtelte Validierung wählen (16, 32 oder 64 Pixel; die Kachelseite muss 0 sein)</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Block side of the spatial split in metres (0: four tiles)</source>
            <translation>Blockseite der räumlichen Aufteilung in Metern (0: vier Kacheln)</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Folds of the spatial split</source>
            <translation>Falten der räumlichen Aufteilung</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Compare with a random trunk and pixel-wise baselines</source>
            <translation>Mit einem zufälligen Rumpf und pixelweisen Vergleichsverfahren vergleichen</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <location filename="../algorithms/training.py" />
            <source>Classifier model file</source>
            <translation>Klassifikator-Modelldatei</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Classify the raster with the new model</source>
            <translation>Das Raster mit dem neuen Modell klassifizieren</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Accuracy report (HTML)</source>
            <translation>Genauigkeitsbericht (HTML)</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Accuracy report (JSON)</source>
            <translation>Genauigkeitsbericht (JSON)</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Overall accuracy (spatial folds)</source>
            <translation>Gesamtgenauigkeit (räumliche Falten)</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Majority-class accuracy</source>
            <translation>Genauigkeit der Mehrheitsklasse</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>No labelled layer given for LABELS</source>
            <translation>Kein beschrifteter Layer für LABELS angegeben</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>ImageNet weights to compare with (.pth)</source>
            <translation>ImageNet-Gewichte zum Vergleich (.pth)</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Samples per km² inside polygons</source>
            <translation>Stichproben je km² in Polygonen</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>Samples per polygon at most</source>
            <translation>Höchstens Stichproben je Polygon</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <location filename="../algorithms/training.py" />
            <source>Epochs</source>
            <translation>Epochen</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>model: {model}; report: {report}</source>
            <translation>Modell: {model}; Bericht: {report}</translation>
        </message>
        <message>
            <location filename="../algorithms/labels.py" />
            <source>skipped {count} feature(s): {reason}</source>
            <translation>{count} Objekt(e) übersprungen: {reason}</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Classify raster</source>
            <translation>Raster klassifizieren</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Classifies imagery with a classifier model file (from 'Train classifier from labelled features' or 'Fine-tune a classifier'). Writes a GeoTIFF of class numbers (nodata 255) that opens styled in the model's class colours and names, optionally the class probabilities (one band per class) and a confidence map (the largest class probability: low where the map is unsure, i.e. where more labels help). By default each output pixel is about an eighth of a tile, so the map shows useful detail. The model's radiometry is applied to the pixels; a raster whose data type or band count does not fit the model's training imagery gets a warning.</source>
            <translation>Klassifiziert Bilddaten mit einer Klassifikator-Modelldatei (aus „Klassifikator aus beschrifteten Objekten trainieren“ oder „Klassifikator feinabstimmen“). Schreibt ein GeoTIFF mit Klassennummern (NoData 255), das in den Klassenfarben und -namen des Modells gestaltet geöffnet wird, optional die Klassenwahrscheinlichkeiten (ein Kanal je Klasse) und eine Konfidenzkarte (die größte Klassenwahrscheinlichkeit: niedrig, wo die Karte unsicher ist, also wo weitere Beschriftungen helfen). Standardmäßig ist jedes Ausgabepixel etwa ein Achtel einer Kachel, sodass die Karte nützliche Einzelheiten zeigt. Die Radiometrie des Modells wird auf die Pixel angewandt; ein Raster, dessen Datentyp oder Kanalzahl nicht zu den Trainingsbilddaten des Modells passt, erhält eine Warnung.</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Embed raster</source>
            <translation>Raster einbetten</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Embeds every tile of the imagery with an audiovisual model's image encoder (from 'Pretrain') and writes one float32 band per embedding dimension (nodata NaN), for clustering, similarity search or your own analysis.</source>
            <translation>Bettet jede Kachel der Bilddaten mit dem Bildkodierer eines audiovisuellen Modells (aus „Vortrainieren“) ein und schreibt einen float32-Kanal je Einbettungsdimension (NoData NaN), für Clusterbildung, Ähnlichkeitssuche oder eigene Auswertungen.</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Soundscape map of a recording</source>
            <translation>Klanglandschaftskarte einer Aufnahme</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <location filename="../algorithms/sounds.py" />
            <source>Sounds</source>
            <translation>Töne</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Embeds a recording (wav, flac, ogg or mp3) with an audiovisual model's audio encoder and every tile of the imagery with its image encoder, and maps how close they are by the model's distance: the cosine similarity (-1 to 1), or minus the Euclidean distance for an imported paper model that ranks by it. Bright where the sound fits the place. The layer opens with a colour ramp from the lowest to the highest similarity.</source>
            <translation>Bettet eine Aufnahme (wav, flac, ogg oder mp3) mit dem Audiokodierer eines audiovisuellen Modells und jede Kachel der Bilddaten mit seinem Bildkodierer ein und kartiert, wie nahe sie sich nach dem Abstandsmaß des Modells sind: die Kosinus-Ähnlichkeit (-1 bis 1) oder, für ein importiertes Modell des Artikels, das danach ordnet, der negative euklidische Abstand. Hell, wo der Ton zum Ort passt. Der Layer öffnet sich mit einem Farbverlauf von der niedrigsten zur höchsten Ähnlichkeit.</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>The raster is cut into tiles of the model's size, at the model's ground resolution (or the raster's own, if chosen or when the model does not record its own); each tile gives one output pixel, or finer pixels with a smaller stride. Memory does not grow with the raster's size. Only the extent, if given, is processed.</source>
            <translation>Das Raster wird in Kacheln der Größe des Modells geschnitten, in der Bodenauflösung des Modells (oder der des Rasters, wenn gewählt oder wenn das Modell keine eigene verzeichnet); jede Kachel ergibt ein Ausgabepixel, oder feinere Pixel bei kleinerer Schrittweite. Der Speicherbedarf wächst nicht mit der Größe des Rasters. Nur die Ausdehnung, falls angegeben, wird verarbeitet.</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>A segmentation model file (DeepLabv3+, from 'transfer --task segmentation') gives one class per pixel instead: tiles overlap and each keeps its central square (the stride; default half the tile), so the map has the raster's own pixels (or the model's ground resolution, when it records one) and no seams at tile edges.</source>
            <translation>Eine Segmentierungs-Modelldatei (DeepLabv3+, aus „transfer --task segmentation“) ergibt stattdessen eine Klasse je Pixel: die Kacheln überlappen, und jede behält ihr zentrales Quadrat (die Schrittweite; standardmäßig die halbe Kachel), sodass die Karte die eigenen Pixel des Rasters hat (oder die Bodenauflösung des Modells, wenn es eine verzeichnet) und keine Nähte an Kachelrändern.</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>The imagery to classify: any raster GDAL reads, whose bands fit the model (see the bands parameter).</source>
            <translation>Die zu klassifizierenden Bilddaten: jedes Raster, das GDAL liest, dessen Kanäle zum Modell passen (siehe den Parameter der Kanäle).</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Advanced. auto: on the CPU, ONNX Runtime in int8 once the model's int8 build has passed its check, and in fp32 where PyTorch would run fp32; PyTorch otherwise (bf16, CUDA). torch or onnxruntime to choose. The log says which ran and why.</source>
            <translation>Erweitert. auto: auf der CPU ONNX Runtime in int8, sobald der int8-Bau des Modells seine Prüfung bestanden hat, und in fp32, wo PyTorch in fp32 rechnen würde; sonst PyTorch (bf16, CUDA). torch oder onnxruntime zum Auswählen. Das Protokoll nennt, was lief und warum.</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Advanced. auto: int8 where it gives the fp32 class on at least 99% of the tiles it is checked on (built once per model, from the first batch of a raster of 96 tiles or more, with ONNX Runtime; else PyTorch's int8 for runs of 512 tiles or more on CPUs without native bf16), bf16 on CPUs with native bf16 and on CUDA, else fp32; fp32, bf16 or int8 to choose.</source>
            <translation>Erweitert. auto: int8, wo es auf mindestens 99 % der geprüften Kacheln dieselbe Klasse wie fp32 liefert (einmal je Modell gebaut, aus dem ersten Stapel eines Rasters ab 96 Kacheln, mit ONNX Runtime; sonst PyTorchs int8 für Läufe ab 512 Kacheln auf CPUs ohne natives bf16), bf16 auf CPUs mit nativem bf16 und mit CUDA, sonst fp32; fp32, bf16 oder int8 zum Auswählen.</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>A classifier model file (from 'Train classifier from labelled features', 'Fine-tune a classifier' or the model catalogue), or a segmentation model file (one class per pixel). The list offers the models you have.</source>
            <translation>Eine Klassifikator-Modelldatei (aus „Klassifikator aus beschrifteten Objekten trainieren“, „Klassifikator feinabstimmen“ oder dem Modellkatalog) oder eine Segmentierungs-Modelldatei (eine Klasse je Pixel). Die Liste bietet die Modelle an, die Sie haben.</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>The class raster: a GeoTIFF of class numbers (nodata 255), opened in the model's class colours and names.</source>
            <translation>Das Klassenraster: ein GeoTIFF mit Klassennummern (NoData 255), in den Klassenfarben und -namen des Modells geöffnet.</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Optional: a GeoTIFF with one band per class holding its probability.</source>
            <translation>Optional: ein GeoTIFF mit einem Kanal je Klasse, der ihre Wahrscheinlichkeit enthält.</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Optional: the largest class probability of each pixel (0 to 1), with a colour ramp: low where the map is unsure, i.e. where more labels help.</source>
            <translation>Optional: die größte Klassenwahrscheinlichkeit jedes Pixels (0 bis 1), mit einem Farbverlauf: niedrig, wo die Karte unsicher ist, also wo weitere Beschriftungen helfen.</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>The imagery to embed: any raster GDAL reads.</source>
            <translation>Die einzubettenden Bilddaten: jedes Raster, das GDAL liest.</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>An audiovisual model file (from 'Pretrain', the model catalogue or an imported checkpoint of the paper): its image encoder embeds the tiles.</source>
            <translation>Eine audiovisuelle Modelldatei (aus „Vortrainieren“, dem Modellkatalog oder einem importierten Checkpoint des Artikels): ihr Bildkodierer bettet die Kacheln ein.</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>A float32 GeoTIFF with one band per embedding dimension (nodata NaN).</source>
            <translation>Ein float32-GeoTIFF mit einem Kanal je Einbettungsdimension (NoData NaN).</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>The imagery to map: any raster GDAL reads.</source>
            <translation>Die zu kartierenden Bilddaten: jedes Raster, das GDAL liest.</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>The audiovisual model: its audio encoder embeds the recording and its image encoder every tile.</source>
            <translation>Das audiovisuelle Modell: sein Audiokodierer bettet die Aufnahme ein und sein Bildkodierer jede Kachel.</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>The recording (wav, flac, ogg or mp3). It is read in the spectrogram encoding the model was trained on.</source>
            <translation>Die Aufnahme (wav, flac, ogg oder mp3). Sie wird in der Spektrogramm-Kodierung gelesen, mit der das Modell trainiert wurde.</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>The similarity raster (one value per output pixel), opened with a colour ramp: bright where the sound fits the place.</source>
            <translation>Das Ähnlichkeitsraster (ein Wert je Ausgabepixel), mit einem Farbverlauf geöffnet: hell, wo der Ton zum Ort passt.</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <location filename="../dialogs.py" />
            <source>Classifier model</source>
            <translation>Klassifikator-Modell</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Engine</source>
            <translation>Engine (Rechenwerk)</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Precision</source>
            <translation>Genauigkeit</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Classes</source>
            <translation>Klassen</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Class probabilities</source>
            <translation>Klassenwahrscheinlichkeiten</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Confidence (largest class probability)</source>
            <translation>Konfidenz (größte Klassenwahrscheinlichkeit)</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <location filename="../algorithms/sounds.py" />
            <location filename="../dialogs.py" />
            <source>Audiovisual model</source>
            <translation>Audiovisuelles Modell</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Embeddings</source>
            <translation>Einbettungen</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <location filename="../algorithms/training.py" />
            <source>Embedding size</source>
            <translation>Einbettungsgröße</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <location filename="../dialogs.py" />
            <source>Recording</source>
            <translation>Aufnahme</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Soundscape</source>
            <translation>Klanglandschaft</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Lowest similarity</source>
            <translation>Niedrigste Ähnlichkeit</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>Highest similarity</source>
            <translation>Höchste Ähnlichkeit</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>{width} x {height} pixels, tile {tile} px, stride {stride} px</source>
            <translation>{width} x {height} Pixel, Kachel {tile} px, Schrittweite {stride} px</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>{width} x {height} pixels, {bands} bands, {tiles} tiles</source>
            <translation>{width} x {height} Pixel, {bands} Kanäle, {tiles} Kacheln</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>similarity to {recording}: {minimum} to {maximum}</source>
            <translation>Ähnlichkeit zu {recording}: {minimum} bis {maximum}</translation>
        </message>
        <message>
            <location filename="../algorithms/raster.py" />
            <source>{name}: {count} pixels ({share}%)</source>
            <translation>{name}: {count} Pixel ({share} %)</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Build sound index</source>
            <translation>Tonindex erstellen</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Embeds every recording of a folder in the SoundingEarth layout (metadata.csv plus audio/, spectrograms/ or the prepared cache) with an audiovisual model's audio encoder, and writes an index folder (embeddings.safetensors and recordings.csv). The 'Sounds here' panel and 'Query sounds for an extent' search it. Recordings without readable sound are skipped and counted. The recordings layer shows what was indexed. Sounds are read in the spectrogram encoding the model was trained on only: a model trained on spectrograms/*.jpg reads those (or raw audio through its JPG front end), any other the log-mel of the audio; a folder where some recordings have only a JPG and others only audio needs 'Sounds from' set.</source>
            <translation>Bettet jede Aufnahme eines Ordners im SoundingEarth-Layout (metadata.csv plus audio/, spectrograms/ oder der vorbereitete Cache) mit dem Audio-Encoder eines audiovisuellen Modells ein und schreibt einen Indexordner (embeddings.safetensors und recordings.csv). Das Bedienfeld „Töne hier“ und „Töne für eine Ausdehnung abfragen“ durchsuchen ihn. Aufnahmen ohne lesbaren Ton werden übersprungen und gezählt. Der Aufnahmen-Layer zeigt, was indiziert wurde. Töne werden nur in der Spektrogramm-Kodierung gelesen, auf der das Modell trainiert wurde: Ein auf spectrograms/*.jpg trainiertes Modell liest diese (oder Roh-Audio über sein JPG-Frontend), jedes andere das Log-Mel-Spektrogramm des Audios; ein Ordner, in dem manche Aufnahmen nur ein JPG und andere nur Audio haben, braucht eine Einstellung bei „Töne aus“.</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Query sounds for an extent</source>
            <translation>Töne für eine Ausdehnung abfragen</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Embeds the imagery inside the extent (tiles side by side, or spread out when the extent is large), averages the embeddings and finds the recordings of a sound index whose sound embedding is closest. The output is a point layer of those recordings (at their own locations, in longitude/latitude) with rank, similarity, key, title, creator, licence, audio file and distance in km from the extent's centre. Use the model the index was built with. Empty extent: the whole raster.</source>
            <translation>Bettet die Bilddaten innerhalb der Ausdehnung ein (Kacheln nebeneinander oder verteilt, wenn die Ausdehnung groß ist), mittelt die Einbettungen und findet die Aufnahmen eines Tonindex, deren Toneinbettung am nächsten liegt. Die Ausgabe ist ein Punktlayer dieser Aufnahmen (an ihren eigenen Orten, in Länge/Breite) mit Rang, Ähnlichkeit, Schlüssel, Titel, Urheber, Lizenz, Audiodatei und Entfernung in km von der Mitte der Ausdehnung. Verwenden Sie das Modell, mit dem der Index erstellt wurde. Leere Ausdehnung: das ganze Raster.</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>A folder of recordings in the SoundingEarth layout: metadata.csv plus audio/, spectrograms/ or the prepared cache.</source>
            <translation>Ein Ordner mit Aufnahmen im SoundingEarth-Aufbau: metadata.csv und audio/, spectrograms/ oder der vorbereitete Zwischenspeicher.</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>The audiovisual model whose audio encoder embeds the recordings. Query the index with the same model.</source>
            <translation>Das audiovisuelle Modell, dessen Audiokodierer die Aufnahmen einbettet. Fragen Sie den Index mit demselben Modell ab.</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Each recording is embedded as the mean of at most this many of its windows of about 3 seconds, spread over the recording.</source>
            <translation>Jede Aufnahme wird als Mittel aus höchstens so vielen ihrer Fenster von etwa 3 Sekunden eingebettet, über die Aufnahme verteilt.</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>The index folder (embeddings.safetensors and recordings.csv) that the 'Sounds here' panel and 'Query sounds for an extent' search.</source>
            <translation>Der Indexordner (embeddings.safetensors und recordings.csv), den das Panel „Töne hier“ und „Töne für eine Ausdehnung abfragen“ durchsuchen.</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Optional: a point layer of the indexed recordings at their places (longitude/latitude).</source>
            <translation>Optional: ein Punktlayer der indizierten Aufnahmen an ihren Orten (Länge/Breite).</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>The imagery whose look is matched with sounds.</source>
            <translation>Die Bilddaten, deren Aussehen mit Tönen abgeglichen wird.</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>A sound index folder from 'Build sound index'.</source>
            <translation>Ein Tonindex-Ordner aus „Tonindex erstellen“.</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>The audiovisual model the index was built with.</source>
            <translation>Das audiovisuelle Modell, mit dem der Index erstellt wurde.</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>How many of the closest recordings to return.</source>
            <translation>Wie viele der nächstliegenden Aufnahmen zurückgegeben werden.</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>A point layer of the closest recordings with rank, similarity, key, title, creator, licence, audio file and distance in km from the extent's centre.</source>
            <translation>Ein Punktlayer der nächstliegenden Aufnahmen mit Rang, Ähnlichkeit, Schlüssel, Titel, Urheber, Lizenz, Audiodatei und Entfernung in km von der Mitte der Ausdehnung.</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Recording collection (SoundingEarth layout)</source>
            <translation>Aufnahmensammlung (SoundingEarth-Layout)</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>3-second windows embedded per recording at most</source>
            <translation>Höchstens eingebettete 3-Sekunden-Fenster je Aufnahme</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Index folder</source>
            <translation>Indexordner</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Indexed recordings</source>
            <translation>Indizierte Aufnahmen</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Recordings indexed</source>
            <translation>Indizierte Aufnahmen (Anzahl)</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Recordings skipped</source>
            <translation>Übersprungene Aufnahmen</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Sound index folder</source>
            <translation>Tonindex-Ordner</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Audiovisual model (the index's)</source>
            <translation>Audiovisuelles Modell (das des Index)</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Recordings to return</source>
            <translation>Zurückzugebende Aufnahmen</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>Closest recordings</source>
            <translation>Nächstgelegene Aufnahmen</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>indexed {count} recordings in {seconds} s</source>
            <translation>{count} Aufnahmen in {seconds} s indiziert</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>{count} recordings from {tiles} tiles in {seconds} s</source>
            <translation>{count} Aufnahmen aus {tiles} Kacheln in {seconds} s</translation>
        </message>
        <message>
            <location filename="../algorithms/sounds.py" />
            <source>skipped {key}: {reason} ({path})</source>
            <translation>{key} übersprungen: {reason} ({path})</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Pretrain (audiovisual, no labels)</source>
            <translation>Vortrainieren (audiovisuell, ohne Beschriftungen)</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Self-supervised audiovisual pretraining (Heidler et al., arXiv 2108.00688): an image ResNet and an audio ResNet learn to map an aerial tile and the recording made there close together in one embedding space, with no labels. The data folder is in the SoundingEarth layout (metadata.csv, images/, audio/ or spectrograms/), as written by 'Build image/sound pairs'. Writes RUN/model.safetensors (the model for the other algorithms), RUN/checkpoints/ after every epoch, RUN/metrics.csv and RUN/curves.png. Tick 'Resume' to continue a run from its last checkpoint. The model records the spectrogram encoding it learns (the release's spectrograms/*.jpg or the log-mel of audio/); a folder mixing JPG-only and audio-only recordings needs 'Sounds from' set. Protocol 'paper' trains the reference code's encoders (khdlr/SoundingEarth) with its loss on unnormalised embeddings, Adam at a constant rate and its augmentation, with the epochs, batch, crop, learning rate and image architecture given here (the paper used ResNet-50, batch 256, 300 epochs; its audio encoder is always ResNet-18 and the loss triplet). Long trainings are better started from the command line (python -m backend pretrain), which also runs on several GPUs.</source>
            <translation>Selbstüberwachtes audiovisuelles Vortraining (Heidler et al., arXiv 2108.00688): Ein Bild-ResNet und ein Audio-ResNet lernen, eine Luftbildkachel und die dort gemachte Aufnahme in einem Einbettungsraum nahe beieinander abzubilden, ohne Beschriftungen. Der Datenordner hat das SoundingEarth-Layout (metadata.csv, images/, audio/ oder spectrograms/), wie „Bild-/Ton-Paare erstellen“ ihn schreibt. Schreibt RUN/model.safetensors (das Modell für die anderen Algorithmen), RUN/checkpoints/ nach jeder Epoche, RUN/metrics.csv und RUN/curves.png. Kreuzen Sie „Fortsetzen“ an, um einen Lauf ab seinem letzten Checkpoint fortzusetzen. Das Modell hält die Spektrogramm-Kodierung fest, die es lernt (die spectrograms/*.jpg der Veröffentlichung oder das Log-Mel-Spektrogramm von audio/); ein Ordner, der Aufnahmen nur als JPG und nur als Audio mischt, braucht eine Einstellung bei „Töne aus“. Das Protokoll „paper“ trainiert die Encoder des Referenzcodes (khdlr/SoundingEarth) mit dessen Verlust auf nicht normierten Einbettungen, Adam mit konstanter Rate und dessen Augmentierung, mit den hier angegebenen Epochen, Stapel, Ausschnitt, Lernrate und Bildarchitektur (das Paper nutzte ResNet-50, Stapel 256, 300 Epochen; sein Audio-Encoder ist immer ResNet-18 und der Verlust Triplet). Lange Trainings startet man besser auf der Kommandozeile (python -m backend pretrain), die auch auf mehreren GPUs läuft.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Fine-tune a classifier</source>
            <translation>Klassifikator feinabstimmen</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Trains a scene classifier (the model 'Classify raster' and the toolbar's 'Classify imagery layer' use) on a scene dataset: one sub-folder per class holding its images (UC Merced, AID, NWPU-RESISC45 and EuroSAT ship this way; GeoTIFFs keep their ground resolution). The image trunk starts from a pretrained model file (from 'Pretrain'), or from random weights when none is given. 'finetune' trains the whole network; 'linear' keeps the trunk frozen and fits a logistic-regression head. Class colours: a list like #1f78b4,#33a02c or name=#rrggbb pairs (default: a qualitative palette). Unless 'train on every image' is ticked, half of each class is held out and the test accuracy is reported.</source>
            <translation>Trainiert einen Szenenklassifikator (das Modell, das „Raster klassifizieren“ und „Bilddatenlayer klassifizieren“ der Werkzeugleiste verwenden) auf einem Szenendatensatz: ein Unterordner je Klasse mit ihren Bildern (UC Merced, AID, NWPU-RESISC45 und EuroSAT werden so ausgeliefert; GeoTIFFs behalten ihre Bodenauflösung). Der Bildrumpf beginnt mit einer vortrainierten Modelldatei (aus „Vortrainieren“) oder mit zufälligen Gewichten, wenn keine angegeben ist. „finetune“ trainiert das ganze Netz; „linear“ lässt den Rumpf eingefroren und passt einen Kopf mit logistischer Regression an. Klassenfarben: eine Liste wie #1f78b4,#33a02c oder Paare name=#rrggbb (Standard: eine qualitative Palette). Sofern „Auf jedem Bild trainieren“ nicht angekreuzt ist, wird die Hälfte jeder Klasse zurückgehalten und die Testgenauigkeit berichtet.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>A folder in the SoundingEarth layout (metadata.csv, images/, and audio/ or spectrograms/), e.g. from 'Build image/sound pairs' or 'Download a dataset of the paper'.</source>
            <translation>Ein Ordner im SoundingEarth-Aufbau (metadata.csv, images/ und audio/ oder spectrograms/), z. B. aus „Bild-/Ton-Paare erstellen“ oder „Einen Datensatz des Artikels herunterladen“.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Passes over the training pairs (the paper trained 300).</source>
            <translation>Durchläufe über die Trainingspaare (der Artikel trainierte 300).</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Pairs per training step. The other pairs of a batch are each pair's negatives, so a larger batch makes the task harder (the paper used 256).</source>
            <translation>Paare je Trainingsschritt. Die übrigen Paare eines Stapels sind die Negativbeispiele jedes Paars, daher macht ein größerer Stapel die Aufgabe schwerer (der Artikel verwendete 256).</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The side, in pixels, of the random image crop the image encoder sees.</source>
            <translation>Die Seite des zufälligen Bildausschnitts in Pixeln, den der Bildkodierer sieht.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The length of the embedding images and sounds share (128, as in the paper).</source>
            <translation>Die Länge der Einbettung, die Bilder und Töne teilen (128, wie im Artikel).</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>triplet: the paper's batch triplet loss (margin 1); infonce: symmetric InfoNCE (refused under the paper protocol).</source>
            <translation>triplet: der Batch-Triplet-Verlust des Artikels (Marge 1); infonce: symmetrisches InfoNCE (beim Protokoll paper abgelehnt).</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The peak learning rate (AdamW with warm-up and cosine decay; under the paper protocol Adam at this constant rate).</source>
            <translation>Die höchste Lernrate (AdamW mit Aufwärmphase und Kosinus-Abfall; beim Protokoll paper Adam mit dieser konstanten Rate).</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>product: this project's training (normalised embeddings, AdamW, its augmentation); paper: the reference code's encoders, loss, optimiser and augmentation, for results comparable with the paper. The documentation's Pretraining page lists every difference.</source>
            <translation>product: das Training dieses Projekts (normierte Einbettungen, AdamW, seine Augmentierung); paper: Kodierer, Verlust, Optimierer und Augmentierung des Referenzcodes, für mit dem Artikel vergleichbare Ergebnisse. Die Seite „Pretraining“ der Dokumentation nennt jeden Unterschied.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The image encoder: resnet18 or resnet50 (the paper's). The audio encoder is the same ResNet under the product protocol and always a ResNet-18 under the paper protocol.</source>
            <translation>Der Bildkodierer: resnet18 oder resnet50 (der des Artikels). Der Audiokodierer ist beim Protokoll product dasselbe ResNet und beim Protokoll paper immer ein ResNet-18.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Processes that decode images and sounds beside the training. 0: in the training's own process; on Windows and macOS each extra process would start QGIS again, so keep 0 there.</source>
            <translation>Prozesse, die Bilder und Töne neben dem Training dekodieren. 0: im eigenen Prozess des Trainings; unter Windows und macOS würde jeder weitere Prozess QGIS erneut starten, belassen Sie dort also 0.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>End each epoch after this many steps, for a quick trial; 0: every batch.</source>
            <translation>Jede Epoche nach so vielen Schritten beenden, für einen kurzen Versuch; 0: jeder Stapel.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Continue the run in the output folder from its last complete checkpoint, instead of starting anew; it ends with the same weights as an uninterrupted run.</source>
            <translation>Den Lauf im Ausgabeordner ab seinem letzten vollständigen Checkpoint fortsetzen, statt neu zu beginnen; er endet mit denselben Gewichten wie ein ununterbrochener Lauf.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The run folder: model.safetensors (the model for the other algorithms), checkpoints/, metrics.csv, curves.png and config.json.</source>
            <translation>Der Laufordner: model.safetensors (das Modell für die anderen Algorithmen), checkpoints/, metrics.csv, curves.png und config.json.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>A folder with one sub-folder per class holding its images (JPG, PNG or GeoTIFF), as UC Merced, AID, NWPU-RESISC45 and EuroSAT ship.</source>
            <translation>Ein Ordner mit einem Unterordner je Klasse, der ihre Bilder enthält (JPG, PNG oder GeoTIFF), wie UC Merced, AID, NWPU-RESISC45 und EuroSAT ausgeliefert werden.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The model whose image trunk training starts from: an audiovisual model from 'Pretrain' or a classifier model file. Empty: random weights.</source>
            <translation>Das Modell, von dessen Bildrumpf das Training ausgeht: ein audiovisuelles Modell aus „Vortrainieren“ oder eine Klassifikator-Modelldatei. Leer: zufällige Gewichte.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>finetune: trains the whole network; linear: keeps the trunk frozen and fits a logistic-regression head.</source>
            <translation>finetune: trainiert das ganze Netz; linear: hält den Rumpf eingefroren und passt einen Kopf aus logistischer Regression an.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Passes over the training images when fine-tuning.</source>
            <translation>Durchläufe über die Trainingsbilder beim Feinabstimmen.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Images per training step.</source>
            <translation>Bilder je Trainingsschritt.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The side, in pixels, every image is resized to; it becomes the model's tile.</source>
            <translation>Die Seite in Pixeln, auf die jedes Bild skaliert wird; sie wird zur Kachel des Modells.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The learning rate of fine-tuning (AdamW, cosine schedule).</source>
            <translation>Die Lernrate des Feinabstimmens (AdamW, Kosinus-Zeitplan).</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The classes' colours in the maps: a list like #1f78b4,#33a02c in class order, or name=#rrggbb pairs. Empty: the demo's land-cover colours for the demo's classes, else a qualitative palette.</source>
            <translation>Die Farben der Klassen in den Karten: eine Liste wie #1f78b4,#33a02c in Klassenreihenfolge oder Paare name=#rrggbb. Leer: die Landbedeckungsfarben der Demo für die Klassen der Demo, sonst eine qualitative Palette.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Metres per pixel of the images when they are not georeferenced (GeoTIFFs give their own). The model records it, so classifying resamples rasters to it. 0: unknown (rasters are then classified at their own pixels).</source>
            <translation>Meter je Pixel der Bilder, wenn sie nicht georeferenziert sind (GeoTIFFs bringen ihre eigenen mit). Das Modell verzeichnet den Wert, sodass beim Klassifizieren Raster darauf neu abgetastet werden. 0: unbekannt (Raster werden dann in ihren eigenen Pixeln klassifiziert).</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Train on every image. Otherwise half of each class is held out and the test accuracy is reported.</source>
            <translation>Auf jedem Bild trainieren. Sonst wird die Hälfte jeder Klasse zurückgehalten und die Testgenauigkeit berichtet.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>The classifier model file (.safetensors) with class names and colours, bands, normalisation, tile size and ground resolution: what 'Classify raster' and the toolbar read.</source>
            <translation>Die Klassifikator-Modelldatei (.safetensors) mit Klassennamen und -farben, Kanälen, Normierung, Kachelgröße und Bodenauflösung: was „Raster klassifizieren“ und die Werkzeugleiste lesen.</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Pretrained model (empty: random initialisation)</source>
            <translation>Vortrainiertes Modell (leer: zufällige Initialisierung)</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Pairs per batch</source>
            <translation>Paare je Stapel</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Image crop side (pixels)</source>
            <translation>Seite des Bildausschnitts (Pixel)</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Loss</source>
            <translation>Verlust</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Learning rate</source>
            <translation>Lernrate</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Protocol</source>
            <translation>Protokoll</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Resume the run in the output folder</source>
            <translation>Den Lauf im Ausgabeordner fortsetzen</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Run folder</source>
            <translation>Laufordner</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <location filename="../dialogs.py" />
            <location filename="../model_chooser.py" />
            <source>Model file</source>
            <translation>Modelldatei</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Final training loss</source>
            <translation>Letzter Trainingsverlust</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Scene dataset (one folder per class)</source>
            <translation>Szenendatensatz (ein Ordner je Klasse)</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Images per batch</source>
            <translation>Bilder je Stapel</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Image side (pixels)</source>
            <translation>Bildseite (Pixel)</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Class colours (empty: default palette)</source>
            <translation>Klassenfarben (leer: Standardpalette)</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Train on every image (no test split)</source>
            <translation>Auf jedem Bild trainieren (keine Testaufteilung)</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Test accuracy</source>
            <translation>Testgenauigkeit</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <location filename="../models_dialog.py" />
            <source>Architecture</source>
            <translation>Architektur</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Data-loading processes</source>
            <translation>Prozesse zum Laden der Daten</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Steps per epoch at most (0: all)</source>
            <translation>Höchstens Schritte je Epoche (0: alle)</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>trained {epochs} epoch(s); final loss {loss}; model: {model}</source>
            <translation>{epochs} Epoche(n) trainiert; letzter Verlust {loss}; Modell: {model}</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>Ground metres per pixel of the images, if not georeferenced (0: unknown)</source>
            <translation>Bodenmeter je Pixel der Bilder, falls nicht georeferenziert (0: unbekannt)</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>classes: {names}; model: {model}</source>
            <translation>Klassen: {names}; Modell: {model}</translation>
        </message>
        <message>
            <location filename="../algorithms/training.py" />
            <source>test accuracy {accuracy}, macro F1 {f1}</source>
            <translation>Testgenauigkeit {accuracy}, Makro-F1 {f1}</translation>
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source>NVIDIA GPU found</source>
            <translation>NVIDIA-GPU gefunden</translation>
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source>no NVIDIA GPU found</source>
            <translation>keine NVIDIA-GPU gefunden</translation>
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source>CPU-only PyTorch</source>
            <translation>PyTorch nur für die CPU</translation>
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source>PyTorch with CUDA (NVIDIA GPU)</source>
            <translation>PyTorch mit CUDA (NVIDIA-GPU)</translation>
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source>Sounding Earth needs Python packages that QGIS cannot import: {packages}. Its algorithms are disabled until they are installed.</source>
            <translation>Sounding Earth braucht Python-Pakete, die QGIS nicht importieren kann: {packages}. Seine Algorithmen sind abgeschaltet, bis sie installiert sind.</translation>
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source>{head} Use Plugins &gt; Sounding Earth &gt; Install dependencies, or run: {command} — then restart QGIS.</source>
            <translation>{head} Verwenden Sie Erweiterungen &gt; Sounding Earth &gt; Abhängigkeiten installieren oder führen Sie aus: {command} – dann QGIS neu starten.</translation>
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source>{name} ({reason}): about {download} to download, about {disk} on disk.</source>
            <translation>{name} ({reason}): etwa {download} herunterzuladen, etwa {disk} auf der Festplatte.</translation>
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source> Older copies are in the way: {copies}.</source>
            <translation> Ältere Kopien stehen im Weg: {copies}.</translation>
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source>PyTorch as the wheel folder {folder} holds it (the {kind} build suits this machine: {reason}); nothing is downloaded.</source>
            <translation>PyTorch, wie es der Wheel-Ordner {folder} enthält (die {kind}-Variante passt zu diesem Rechner: {reason}); es wird nichts heruntergeladen.</translation>
        </message>
        <message>
            <location filename="../dependencies.py" />
            <source>{head} {error} Run this where QGIS's Python {version} is python{version} (on Windows: the OSGeo4W Shell): {command} — then restart QGIS.</source>
            <translation>{head} {error} Führen Sie dies dort aus, wo QGIS' Python {version} als python{version} aufrufbar ist (unter Windows: die OSGeo4W-Shell): {command} – dann QGIS neu starten.</translation>
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Recordings (*.wav *.flac *.ogg *.mp3 *.WAV *.FLAC *.OGG *.MP3);;All files (*)</source>
            <translation>Aufnahmen (*.wav *.flac *.ogg *.mp3 *.WAV *.FLAC *.OGG *.MP3);;Alle Dateien (*)</translation>
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Sounding Earth: classify imagery layer</source>
            <translation>Sounding Earth: Bilddatenlayer klassifizieren</translation>
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Classifies every tile of the imagery with a classifier model file (or every pixel, with a segmentation model file) and adds the land-cover layer in the model's class colours. It runs in the background; follow or cancel it in the task manager.</source>
            <translation>Klassifiziert jede Kachel der Bilddaten mit einer Klassifikator-Modelldatei (oder jedes Pixel, mit einer Segmentierungs-Modelldatei) und fügt den Landbedeckungslayer in den Klassenfarben des Modells hinzu. Es läuft im Hintergrund; verfolgen oder abbrechen können Sie es in der Aufgabenverwaltung.</translation>
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Sounding Earth: soundscape map</source>
            <translation>Sounding Earth: Klanglandschaftskarte</translation>
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Maps where a recording belongs: every tile of the imagery is compared with the sound, and the similarity is added as a heat layer (bright where the sound fits).</source>
            <translation>Kartiert, wohin eine Aufnahme gehört: Jede Kachel der Bilddaten wird mit dem Ton verglichen, und die Ähnlichkeit wird als Heatmap-Layer hinzugefügt (hell, wo der Ton passt).</translation>
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Imagery layer</source>
            <translation>Bilddatenlayer</translation>
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Whole layer</source>
            <translation>Ganzer Layer</translation>
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Current map view</source>
            <translation>Aktuelle Kartenansicht</translation>
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Extent</source>
            <translation>Ausdehnung</translation>
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Temporary file</source>
            <translation>Temporäre Datei</translation>
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Save to</source>
            <translation>Speichern unter</translation>
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Output</source>
            <translation>Ausgabe</translation>
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Choose an imagery layer (add a raster to the project first).</source>
            <translation>Wählen Sie einen Bilddatenlayer (fügen Sie zuerst ein Raster zum Projekt hinzu).</translation>
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>The map view is empty; zoom to the layer first.</source>
            <translation>Die Kartenansicht ist leer; zoomen Sie zuerst auf den Layer.</translation>
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Choose an output file, or a temporary one.</source>
            <translation>Wählen Sie eine Ausgabedatei oder eine temporäre.</translation>
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Choose a model file; {path} is not a file.</source>
            <translation>Wählen Sie eine Modelldatei; {path} ist keine Datei.</translation>
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>Choose a recording; {path} is not a file.</source>
            <translation>Wählen Sie eine Aufnahme; {path} ist keine Datei.</translation>
        </message>
        <message>
            <location filename="../dialogs.py" />
            <source>none</source>
            <translation>keine</translation>
        </message>
        <message>
            <location filename="../installer.py" />
            <source>QGIS must be restarted afterwards.</source>
            <translation>QGIS muss danach neu gestartet werden.</translation>
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Sounding Earth: install dependencies</source>
            <translation>Sounding Earth: Abhängigkeiten installieren</translation>
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Cancel</source>
            <translation>Abbrechen</translation>
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Sounding Earth: remove installed packages</source>
            <translation>Sounding Earth: installierte Pakete entfernen</translation>
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Installing dependencies was cancelled.</source>
            <translation>Die Installation der Abhängigkeiten wurde abgebrochen.</translation>
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Install {packages} for QGIS's Python into {folder}?</source>
            <translation>{packages} für das Python von QGIS in {folder} installieren?</translation>
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Command: {command}</source>
            <translation>Befehl: {command}</translation>
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Installing {packages} for QGIS's Python…</source>
            <translation>{packages} wird für das Python von QGIS installiert…</translation>
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Dependencies installed into {folder} in {seconds} s. Restart QGIS to use Sounding Earth.</source>
            <translation>Abhängigkeiten in {seconds} s nach {folder} installiert. Starten Sie QGIS neu, um Sounding Earth zu verwenden.</translation>
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Delete {folder} ({size} GB), the Python packages the plugin installed?

The plugin's algorithms stop working until they are installed again; restart QGIS afterwards.</source>
            <translation>{folder} ({size} GB) löschen, die Python-Pakete, die die Erweiterung installiert hat?

Die Algorithmen der Erweiterung funktionieren erst wieder, wenn sie erneut installiert sind; starten Sie QGIS danach neu.</translation>
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Removed {folder} ({size} GB). Restart QGIS.</source>
            <translation>{folder} ({size} GB) entfernt. Starten Sie QGIS neu.</translation>
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Installing dependencies failed: {error}</source>
            <translation>Die Installation der Abhängigkeiten ist fehlgeschlagen: {error}</translation>
        </message>
        <message>
            <location filename="../installer.py" />
            <source>pip failed (exit code {code}):</source>
            <translation>pip ist fehlgeschlagen (Rückgabewert {code}):</translation>
        </message>
        <message>
            <location filename="../installer.py" />
            <source>No installed packages to remove: {folder} does not exist.</source>
            <translation>Keine installierten Pakete zu entfernen: {folder} existiert nicht.</translation>
        </message>
        <message>
            <location filename="../installer.py" />
            <source>Could not delete all of {folder} ({error}). Restart QGIS (it keeps loaded libraries open) and remove it again, or delete the folder by hand.</source>
            <translation>{folder} konnte nicht vollständig gelöscht werden ({error}). Starten Sie QGIS neu (es hält geladene Bibliotheken offen) und entfernen Sie es erneut, oder löschen Sie den Ordner von Hand.</translation>
        </message>
        <message>
            <location filename="../labels_action.py" />
            <source>Open accuracy report</source>
            <translation>Genauigkeitsbericht öffnen</translation>
        </message>
        <message>
            <location filename="../labels_action.py" />
            <source>Trained {model}</source>
            <translation>{model} trainiert</translation>
        </message>
        <message>
            <location filename="../labels_action.py" />
            <source>The Sounding Earth Processing algorithms are not available (see the log).</source>
            <translation>Die Processing-Algorithmen von Sounding Earth sind nicht verfügbar (siehe das Protokoll).</translation>
        </message>
        <message>
            <location filename="../labels_action.py" />
            <source>: overall accuracy {percent} % on spatial folds</source>
            <translation>: Gesamtgenauigkeit {percent} % auf räumlichen Falten</translation>
        </message>
        <message>
            <location filename="../labels_action.py" />
            <source> (majority class {percent} %)</source>
            <translation> (Mehrheitsklasse {percent} %)</translation>
        </message>
        <message>
            <location filename="../layers.py" />
            <source>choose a valid raster layer</source>
            <translation>wählen Sie einen gültigen Rasterlayer</translation>
        </message>
        <message>
            <location filename="../layers.py" />
            <source>layer {layer} is served by {provider}, not read from a file; save it as a GeoTIFF first (Export &gt; Save As…)</source>
            <translation>Layer {layer} wird von {provider} geliefert, nicht aus einer Datei gelesen; speichern Sie ihn zuerst als GeoTIFF (Exportieren &gt; Speichern als…)</translation>
        </message>
        <message>
            <location filename="../layers.py" />
            <source>QGIS cannot open {path}</source>
            <translation>QGIS kann {path} nicht öffnen</translation>
        </message>
        <message>
            <location filename="../model_chooser.py" />
            <source>Sounding Earth model (*.safetensors)</source>
            <translation>Sounding-Earth-Modell (*.safetensors)</translation>
        </message>
        <message>
            <location filename="../model_chooser.py" />
            <source>Choose another model file</source>
            <translation>Eine andere Modelldatei wählen</translation>
        </message>
        <message>
            <location filename="../model_chooser.py" />
            <source>, missing</source>
            <translation>, fehlt</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Name</source>
            <translation>Name</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Task</source>
            <translation>Aufgabe</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>State</source>
            <translation>Zustand</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>SHA-256</source>
            <translation>SHA-256</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Sounding Earth models</source>
            <translation>Sounding-Earth-Modelle</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>file address, for a model the catalogue has none for</source>
            <translation>Dateiadresse, für ein Modell, für das der Katalog keine hat</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Download</source>
            <translation>Herunterladen</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Cancel download</source>
            <translation>Herunterladen abbrechen</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>{name} was already downloaded and verified: {path}</source>
            <translation>{name} war bereits heruntergeladen und geprüft: {path}</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>downloaded</source>
            <translation>heruntergeladen</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>{name} downloaded to {path}. No checksum is published for it: compare its SHA-256 {sha256} with the release page; it is recorded, and later downloads must match it.</source>
            <translation>{name} nach {path} heruntergeladen. Für dieses Modell ist keine Prüfsumme veröffentlicht: Vergleichen Sie seine SHA-256 {sha256} mit der Veröffentlichungsseite; sie ist festgehalten, und spätere Downloads müssen ihr entsprechen.</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>{name} downloaded to {path}; SHA-256 verified ({sha256}).</source>
            <translation>{name} nach {path} heruntergeladen; SHA-256 geprüft ({sha256}).</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Models of the catalogue that ships with the plugin and the ones you added. Download verifies the SHA-256 and imports the paper's checkpoints; the model is then offered by every model chooser. Model folder: {folder}</source>
            <translation>Modelle des Katalogs, der mit der Erweiterung kommt, und die, die Sie hinzugefügt haben. Herunterladen prüft die SHA-256 und importiert die Checkpoints des Papers; das Modell wird dann von jeder Modellauswahl angeboten. Modellordner: {folder}</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>available</source>
            <translation>verfügbar</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>no address</source>
            <translation>keine Adresse</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>not published</source>
            <translation>nicht veröffentlicht</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Licence: {licence}</source>
            <translation>Lizenz: {licence}</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Downloading {name}…</source>
            <translation>{name} wird heruntergeladen…</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>{name}: {error}</source>
            <translation>{name}: {error}</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>{name}: download cancelled; the next download resumes where it stopped.</source>
            <translation>{name}: Herunterladen abgebrochen; das nächste Herunterladen setzt dort fort, wo es aufgehört hat.</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Release page: {page}</source>
            <translation>Veröffentlichungsseite: {page}</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Copy it from {page} into the address field.</source>
            <translation>Kopieren Sie sie von {page} in das Adressfeld.</translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>{name}: the catalogue has no file address for this model. </source>
            <translation>{name}: Der Katalog hat keine Dateiadresse für dieses Modell. </translation>
        </message>
        <message>
            <location filename="../models_dialog.py" />
            <source>Downloading {name}: {percent} %</source>
            <translation>{name} wird heruntergeladen: {percent} %</translation>
        </message>
        <message>
            <location filename="../player.py" />
            <source>{path}: recording not found</source>
            <translation>{path}: Aufnahme nicht gefunden</translation>
        </message>
        <message>
            <location filename="../plugin.py" />
            <source>Classify imagery layer…</source>
            <translation>Bilddatenlayer klassifizieren…</translation>
        </message>
        <message>
            <location filename="../plugin.py" />
            <source>Train classifier from labels…</source>
            <translation>Klassifikator aus Beschriftungen trainieren…</translation>
        </message>
        <message>
            <location filename="../plugin.py" />
            <location filename="../sounds_dock.py" />
            <source>Sounds here</source>
            <translation>Töne hier</translation>
        </message>
        <message>
            <location filename="../plugin.py" />
            <location filename="../sounds_dock.py" />
            <source>Soundscape map…</source>
            <translation>Klanglandschaftskarte…</translation>
        </message>
        <message>
            <location filename="../plugin.py" />
            <source>Install dependencies…</source>
            <translation>Abhängigkeiten installieren…</translation>
        </message>
        <message>
            <location filename="../plugin.py" />
            <source>Remove installed packages…</source>
            <translation>Installierte Pakete entfernen…</translation>
        </message>
        <message>
            <location filename="../plugin.py" />
            <source>Models…</source>
            <translation>Modelle…</translation>
        </message>
        <message>
            <location filename="../plugin.py" />
            <source>About Sounding Earth…</source>
            <translation>Über Sounding Earth…</translation>
        </message>
        <message>
            <location filename="../plugin.py" />
            <source>Self-supervised audiovisual representation learning for remote sensing (Heidler et al., arXiv 2108.00688).</source>
            <translation>Selbstüberwachtes audiovisuelles Repräsentationslernen für die Fernerkundung (Heidler et al., arXiv 2108.00688).</translation>
        </message>
        <message>
            <location filename="../plugin.py" />
            <source>All backend packages import.</source>
            <translation>Alle Backend-Pakete lassen sich importieren.</translation>
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>Classified {layer} in {seconds} s: {count} classes, mostly {largest} ({share}%). Layer: {name}</source>
            <translation>{layer} in {seconds} s klassifiziert: {count} Klassen, überwiegend {largest} ({share} %). Layer: {name}</translation>
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>Sounding Earth: classify {layer}</source>
            <translation>Sounding Earth: {layer} klassifizieren</translation>
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>Classifying {layer}</source>
            <translation>Klassifizieren von {layer}</translation>
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>Mapped where {recording} belongs on {layer} in {seconds} s (similarity {minimum} to {maximum}). Layer: {name}</source>
            <translation>Kartiert, wohin {recording} auf {layer} gehört, in {seconds} s (Ähnlichkeit {minimum} bis {maximum}). Layer: {name}</translation>
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>Sounding Earth: soundscape of {recording}</source>
            <translation>Sounding Earth: Klanglandschaft von {recording}</translation>
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>The soundscape map of {recording}</source>
            <translation>Die Klanglandschaftskarte von {recording}</translation>
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>{what} failed: {error}</source>
            <translation>{what} ist fehlgeschlagen: {error}</translation>
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>{what} was cancelled; nothing was written.</source>
            <translation>{what} wurde abgebrochen; es wurde nichts geschrieben.</translation>
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>{layer} classes</source>
            <translation>{layer} Klassen</translation>
        </message>
        <message>
            <location filename="../raster_actions.py" />
            <source>soundscape of {recording}</source>
            <translation>Klanglandschaft von {recording}</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Title</source>
            <translation>Titel</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Creator</source>
            <translation>Urheber</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Similarity</source>
            <translation>Ähnlichkeit</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Distance (km)</source>
            <translation>Entfernung (km)</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>−Distance</source>
            <translation>−Abstand</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>cosine similarity of the view's and the recording's embeddings (1 is closest)</source>
            <translation>Kosinus-Ähnlichkeit der Einbettungen der Ansicht und der Aufnahme (1 ist am nächsten)</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>minus the Euclidean distance between the embeddings (0 is closest)</source>
            <translation>minus der euklidische Abstand zwischen den Einbettungen (0 ist am nächsten)</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Sound index</source>
            <translation>Tonindex</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Model</source>
            <translation>Modell</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Follow the map</source>
            <translation>Der Karte folgen</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Refresh</source>
            <translation>Aktualisieren</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Move the map over an imagery layer.</source>
            <translation>Bewegen Sie die Karte über einen Bilddatenlayer.</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Play</source>
            <translation>Abspielen</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Stop</source>
            <translation>Stopp</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Show on map</source>
            <translation>Auf der Karte zeigen</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Listening…</source>
            <translation>Lauschen…</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Recordings</source>
            <translation>Aufnahmen</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Choose an imagery layer.</source>
            <translation>Wählen Sie einen Bilddatenlayer.</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Choose a sound index folder (built by 'Build sound index').</source>
            <translation>Wählen Sie einen Tonindex-Ordner (erstellt von „Tonindex erstellen“).</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Choose the audiovisual model the index was built with.</source>
            <translation>Wählen Sie das audiovisuelle Modell, mit dem der Index erstellt wurde.</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>The map view is empty.</source>
            <translation>Die Kartenansicht ist leer.</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>The query failed.</source>
            <translation>Die Abfrage ist fehlgeschlagen.</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source> around {lat}, {lon}</source>
            <translation> um {lat}, {lon}</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>{count} recordings closest to the view{where} ({tiles} tiles, {seconds} s).</source>
            <translation>{count} Aufnahmen am nächsten zur Ansicht{where} ({tiles} Kacheln, {seconds} s).</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Score</source>
            <translation>Wert</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>(untitled)</source>
            <translation>(ohne Titel)</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Playing {title} ({how}).</source>
            <translation>{title} wird abgespielt ({how}).</translation>
        </message>
        <message>
            <location filename="../sounds_dock.py" />
            <source>Cannot play {file}: {error}</source>
            <translation>{file} kann nicht abgespielt werden: {error}</translation>
        </message>
        <message>
            <source>Advanced. auto: PyTorch where it runs bf16 or int8, ONNX Runtime (when installed) for runs that would be fp32 on the CPU; torch or onnxruntime to choose. The log says which ran and why.</source>
            <translation type="vanished">Erweitert. auto: PyTorch, wo es in bf16 oder int8 rechnet, ONNX Runtime (wenn installiert) für Läufe, die auf der CPU in fp32 liefen; torch oder onnxruntime zum Auswählen. Das Protokoll nennt, was lief und warum.</translation>
        </message>
        <message>
            <source>Advanced. auto: bf16 on CPUs with native bf16 (and on CUDA), int8 on other CPUs for runs of 512 tiles or more, used only when at least 99% of the first tiles get the same class as in fp32, else fp32; fp32, bf16 or int8 to choose.</source>
            <translation type="vanished">Erweitert. auto: bf16 auf CPUs mit nativem bf16 (und mit CUDA), int8 auf anderen CPUs für Läufe ab 512 Kacheln, nur wenn mindestens 99 % der ersten Kacheln dieselbe Klasse wie in fp32 erhalten, sonst fp32; fp32, bf16 oder int8 zum Auswählen.</translation>
        </message>
    </context>
</TS>
