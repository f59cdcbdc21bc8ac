import sys

from keras_dcgan.cli import main

sys.exit(main())
