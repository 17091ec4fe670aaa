# sealed-image.bbclass: IMAGE_FSTYPES += "sealed" seals the image's root
# file system with sealctl (sealctl-native): the erofs image Yocto makes
# (ownership from pseudo), then its dm-verity tree, a signed manifest and a
# footer -- the system volume sealinit verifies at boot.  The sealed image is
# read back with sealctl verify before it is deployed.
#
#   inherit sealed-image
#   IMAGE_FSTYPES += "sealed"
#   SEALINIT_KEY = "/path/to/platform.pem"            # or, with an HSM:
#   SEALINIT_KEY = "/path/to/platform.pub.pem"
#   SEALINIT_SIGNING_HELPER = "/path/to/hsm-sign"     # sealctl seal --help
#   SEALINIT_PARTITION_SIZE = "512M"                  # a partition image
#
# docs/integrators.md has the whole path from keys to a sealed board.

SEALINIT_KIND ?= "system"
SEALINIT_NAME ?= "system"
SEALINIT_VERSION ?= "${DISTRO_VERSION}"
SEALINIT_ROLLBACK_INDEX ?= "1"
SEALINIT_KEY ?= ""
SEALINIT_SIGNING_HELPER ?= ""
SEALINIT_OVERLAY ?= ""
SEALINIT_PARTITION_SIZE ?= ""
SEALINIT_FSTYPE ?= "erofs"

IMAGE_TYPES += "sealed"
IMAGE_TYPEDEP:sealed = "${SEALINIT_FSTYPE}"
do_image_sealed[depends] += "sealctl-native:do_populate_sysroot"

IMAGE_CMD:sealed () {
	if [ -z "${SEALINIT_KEY}" ]; then
		bbfatal "sealed-image: set SEALINIT_KEY (a private key, or a public key with SEALINIT_SIGNING_HELPER)"
	fi
	set --
	if [ -n "${SEALINIT_SIGNING_HELPER}" ]; then
		set -- "$@" --signing-helper "${SEALINIT_SIGNING_HELPER}"
	fi
	if [ -n "${SEALINIT_OVERLAY}" ]; then
		set -- "$@" --overlay "${SEALINIT_OVERLAY}"
	fi
	if [ -n "${SEALINIT_PARTITION_SIZE}" ]; then
		set -- "$@" --partition-size "${SEALINIT_PARTITION_SIZE}"
	fi
	sealctl seal --image ${IMGDEPLOYDIR}/${IMAGE_NAME}${IMAGE_NAME_SUFFIX}.${SEALINIT_FSTYPE} \
		--kind "${SEALINIT_KIND}" --name "${SEALINIT_NAME}" --version "${SEALINIT_VERSION}" \
		--rollback-index "${SEALINIT_ROLLBACK_INDEX}" --key "${SEALINIT_KEY}" "$@" \
		-o ${IMGDEPLOYDIR}/${IMAGE_NAME}${IMAGE_NAME_SUFFIX}.sealed
	sealctl verify ${IMGDEPLOYDIR}/${IMAGE_NAME}${IMAGE_NAME_SUFFIX}.sealed \
		--key "${SEALINIT_KEY}" --kind "${SEALINIT_KIND}"
}
